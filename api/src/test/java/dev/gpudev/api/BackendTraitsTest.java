package dev.gpudev.api;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.store.CapacityTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An API replica answers by what the processor published of its backend (isolated or not, who logs in),
 * never by what its own machine has: configured as isolated here, it follows the published traits.
 */
class BackendTraitsTest {
    private final ApiFixture f = new ApiFixture();

    @AfterEach
    void close() {
        f.close();
    }

    private void publish(BackendTraits traits) {
        f.db.inTransaction(c -> {
            new CapacityTable().publishTraits(c, traits, Instant.now());
            return null;
        });
    }

    @Test
    void aBackendThatDoesNotIsolateLetsOnlyItsAdminReserveAndAPodsUserIsWhoLogsIn() throws Exception {
        String alice = f.newUser("alice");
        String submit = "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}";
        assertEquals(201, f.call("POST", "/v1/jobs/submit", alice, submit).status(), "configured: isolated");
        publish(new BackendTraits("local", false, null));
        long deadline = System.nanoTime() + 10_000_000_000L;
        ApiFixture.Res refused;
        do {
            refused = f.call("POST", "/v1/jobs/submit", alice, submit);
        } while (refused.status() == 201 && System.nanoTime() < deadline && sleep());
        assertEquals(403, refused.status(), refused.raw());
        assertTrue(refused.body().get("message").asText().contains("only its admin may reserve"), refused.raw());
        assertEquals(201, f.call("POST", "/v1/jobs/submit", f.admin(), submit).status(), "the admin still may");

        publish(new BackendTraits("kubernetes", true, "dev"));
        UUID id = f.activeReservation(f.admin(), "pod");
        String user;
        do {
            user = f.call("GET", "/v1/jobs/" + id, f.admin(), null).body().get("connection").get("user").asText();
        } while (!user.equals("dev") && System.nanoTime() < deadline + 10_000_000_000L && sleep());
        assertEquals("dev", user, "environments let in the pod's user");
    }

    private static boolean sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }
}
