package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Webhooks over the API: only where the admin allows, never internal, masked when shown, each user's own. */
class NotificationRoutesTest {
    static ApiFixture f;
    static String alice;
    static String bob;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture(); // allows *.example.test by name
        alice = f.newUser("alice");
        bob = f.newUser("bob");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void aHookIsRegisteredShownMaskedAndRemovedByItsOwnerOnly() throws Exception {
        String secret = "https://hooks.example.test/services/T000/B000/abcdefSECRETxyz9";
        var made = f.call("POST", "/v1/notifications", alice, "{\"url\":\"" + secret + "\",\"format\":\"slack\"}");
        assertEquals(201, made.status(), made.raw());
        assertEquals("https://hooks.example.test/…xyz9", made.body().get("url").asText());
        assertEquals("https://hooks.example.test/…", dev.gpudev.store.Webhooks.mask("https://hooks.example.test?token=SECRET"),
                "a secret in the query is hidden too");
        assertEquals("https://hooks.example.test/…", dev.gpudev.store.Webhooks.mask("https://hooks.example.test#SECRET"));
        assertFalse(made.raw().contains("SECRET"));
        assertEquals(409, f.call("POST", "/v1/notifications", alice, "{\"url\":\"" + secret + "\"}").status());
        var listed = f.call("GET", "/v1/notifications", alice, null);
        assertFalse(listed.raw().contains("SECRET"), listed.raw());
        assertEquals(1, listed.body().get("notifications").size());
        assertEquals(0, f.call("GET", "/v1/notifications", bob, null).body().get("notifications").size());
        long id = made.body().get("id").asLong();
        assertEquals(404, f.call("DELETE", "/v1/notifications/" + id, bob, null).status(), "not bob's");
        assertEquals(200, f.call("DELETE", "/v1/notifications/" + id, alice, null).status());
        assertEquals(404, f.call("DELETE", "/v1/notifications/" + id, alice, null).status());
        var audit = f.call("GET", "/v1/audit?username=alice", f.admin(), null);
        assertFalse(audit.raw().contains("SECRET"), "never in the audit log");
    }

    @Test
    void aTeamsHookIsManagedByItsMembersAndAdminsAndSeenByItsMembersOnly() throws Exception {
        String carol = f.newUser("carol");
        f.call("POST", "/v1/admin/teams", f.admin(), "{\"name\":\"vision\"}");
        f.call("POST", "/v1/admin/teams/vision/members", f.admin(), "{\"user\":\"carol\"}");
        String url = "https://hooks.example.test/services/TEAM/vision/SECRETchannel1";
        var refused = f.call("POST", "/v1/notifications", bob, "{\"url\":\"" + url + "\",\"team\":\"vision\"}");
        assertEquals(403, refused.status(), "bob is not in vision: " + refused.raw());
        assertEquals(404, f.call("POST", "/v1/notifications", carol, "{\"url\":\"" + url + "\",\"team\":\"nosuch\"}").status());
        var made = f.call("POST", "/v1/notifications", carol, "{\"url\":\"" + url + "\",\"team\":\"vision\"}");
        assertEquals(201, made.status(), made.raw());
        assertEquals("vision", made.body().get("team").asText());
        assertEquals(409, f.call("POST", "/v1/notifications", f.admin(), "{\"url\":\"" + url + "\",\"team\":\"vision\"}").status(),
                "the team has it already");
        var carols = f.call("GET", "/v1/notifications", carol, null).body().get("notifications");
        assertEquals(1, carols.size());
        assertEquals("vision", carols.get(0).get("team").asText());
        assertEquals(0, f.call("GET", "/v1/notifications", bob, null).body().get("notifications").size(), "not bob's team");
        assertEquals(403, f.call("GET", "/v1/notifications?team=vision", bob, null).status());
        assertEquals(1, f.call("GET", "/v1/notifications?team=vision", f.admin(), null).body().get("notifications").size());
        long id = made.body().get("id").asLong();
        assertEquals(404, f.call("DELETE", "/v1/notifications/" + id, bob, null).status(), "not bob's to see");
        f.call("POST", "/v1/admin/teams/vision/members", f.admin(), "{\"user\":\"alice\"}");
        assertEquals(200, f.call("DELETE", "/v1/notifications/" + id, alice, null).status(), "any member removes it");
        assertEquals(0, f.call("GET", "/v1/notifications?team=vision", carol, null).body().get("notifications").size());
        // a member who leaves takes the team hooks they registered with them
        assertEquals(201, f.call("POST", "/v1/notifications", carol, "{\"url\":\"" + url + "\",\"team\":\"vision\"}").status());
        assertEquals(200, f.call("DELETE", "/v1/admin/teams/vision/members/carol", f.admin(), null).status());
        assertEquals(0, f.call("GET", "/v1/notifications?team=vision", alice, null).body().get("notifications").size(),
                "the team's events no longer reach an ex-member's URL");
    }

    @Test
    void onlyHttpToAllowedHostsAndNeverAnInternalAddress() throws Exception {
        for (String bad : new String[]{"ftp://hooks.example.test/x", "https://evil.test/x", "http://127.0.0.1:8080/x", "http://169.254.169.254/latest",
                "https://user:pw@hooks.example.test/x", "not a url", "http://[::1]/x"}) {
            var r = f.call("POST", "/v1/notifications", alice, "{\"url\":\"" + bad + "\"}");
            assertEquals(400, r.status(), bad + " -> " + r.raw());
            assertTrue(r.body().get("message").asText().length() > 10, r.raw());
        }
        var format = f.call("POST", "/v1/notifications", alice, "{\"url\":\"https://hooks.example.test/y\",\"format\":\"xml\"}");
        assertEquals(400, format.status());
    }

    @Test
    void withoutAnAllowListAnyPublicHostButNoInternalOne() {
        var open = dev.gpudev.core.WebhookPolicy.anyPublicHost();
        assertTrue(open.refusal("127.0.0.1").contains("does not resolve to a public address"));
        assertTrue(open.refusal("10.1.2.3").contains("does not resolve to a public address"));
        assertTrue(open.refusal("169.254.169.254").contains("does not resolve to a public address"), "the cloud's metadata service");
        assertTrue(open.refusal("100.64.0.1").contains("does not resolve to a public address"));
        assertEquals(null, open.refusal("8.8.8.8"));
        assertEquals("127.0.0.1", new dev.gpudev.core.WebhookPolicy(java.util.List.of("127.0.0.1")).check("http://127.0.0.1:9/x").getHost());
        assertEquals(null, new dev.gpudev.core.WebhookPolicy(java.util.List.of("127.0.0.1")).refusal("127.0.0.1"), "allowed by name");
    }
}
