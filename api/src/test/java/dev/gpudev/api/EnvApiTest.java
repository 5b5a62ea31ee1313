package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A reservation's own variables: stored, shown to its owner only, checked. */
class EnvApiTest {
    static ApiFixture f;
    static String alice;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        alice = f.newUser("alice");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void theOwnerSeesTheirVariablesNobodyElseDoes() throws Exception {
        var made = f.call("POST", "/v1/jobs/submit", alice,
                "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"env\":{\"WANDB_API_KEY\":\"s3cret\",\"MODE\":\"fast\"}}");
        assertEquals(201, made.status(), made.raw());
        assertEquals("s3cret", made.body().get("env").get("WANDB_API_KEY").asText());
        String id = made.body().get("job_id").asText();
        assertEquals("fast", f.call("GET", "/v1/jobs/" + id, alice, null).body().get("env").get("MODE").asText());
        var asAdmin = f.call("GET", "/v1/jobs/" + id, f.admin(), null);
        assertEquals(200, asAdmin.status());
        assertFalse(asAdmin.raw().contains("s3cret"), "not even an admin: " + asAdmin.raw());
        var bad = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"env\":{\"PATH\":\"/x\"}}");
        assertEquals(400, bad.status());
        assertTrue(bad.body().get("message").asText().contains("PATH is set by the platform"), bad.raw());
        assertEquals(400, f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"env\":[1]}").status());
    }
}
