package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where notifications may go: every form of an internal address is refused, and nothing says which. */
class WebhookPolicyTest {
    @Test
    void everyFormOfAnInternalAddressIsInternal() throws Exception {
        for (String a : List.of("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "192.0.0.192", "0.0.0.0",
                "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::7f00:1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",
                "2001:0:4136:e378:8000:63bf:80ff:fffe")) {
            assertTrue(WebhookPolicy.internal(InetAddress.getByName(a)), a);
        }
        for (String a : List.of("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:0808:0808::1")) {
            assertFalse(WebhookPolicy.internal(InetAddress.getByName(a)), a);
        }
    }

    @Test
    void onlyWebPortsUnlessTheHostIsAllowedByNameAndOneAnswerForAnyInternalHost() {
        var open = WebhookPolicy.anyPublicHost();
        assertThrows(ValidationException.class, () -> open.check("https://8.8.8.8:6379/x"));
        assertThrows(ValidationException.class, () -> open.check("http://8.8.8.8:99999/x"));
        assertEquals(443, open.check("https://8.8.8.8:443/x").getPort());
        assertEquals(8080, new WebhookPolicy(List.of("127.0.0.1")).check("http://127.0.0.1:8080/x").getPort());
        assertEquals(open.refusal("10.1.2.3").replace("10.1.2.3", "H"), open.refusal("no-such-host.invalid").replace("no-such-host.invalid", "H"),
                "inside or unknown: the same words, no address");
    }
}
