package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** gpu_type "h100,a100": the type whose plan starts earliest, ties by the order given, said in the history. */
class AnyOfTypesTest {
    static ApiFixture f;
    static String alice;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture(new Capacity(List.of(new Capacity.Node("h0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true),
                new Capacity.Node("a0", "a100", List.of(0, 1, 2, 3), true))));
        alice = f.newUser("alice");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String body(String types, int gpus) {
        return "{\"gpu_type\":\"" + types + "\",\"gpu_count\":" + gpus + ",\"duration_hours\":2}";
    }

    @Test
    void theFirstTypeThatCanStartEarliestIsTakenTiesByTheOrderGiven() throws Exception {
        var tie = f.call("POST", "/v1/jobs/submit", alice, body("a100,h100", 2));
        assertEquals(201, tie.status(), tie.raw());
        assertEquals("a100", tie.body().get("gpu_type").asText(), "both start now: the first given");
        String id = tie.body().get("job_id").asText();
        String why = f.call("GET", "/v1/jobs/" + id, alice, null).body().get("status_history").get(0).get("reason").asText();
        assertTrue(why.contains("a100 of a100,h100: it starts now"), why);
        f.clock.advance(java.time.Duration.ofSeconds(1)); // later arrivals are planned after it (same instant: by id)
        var dry = f.call("POST", "/v1/jobs/submit", alice, body("A100,h100", 4).replace("}", ",\"dry_run\":true}"));
        assertEquals("h100", dry.body().get("gpu_type").asText(), "a100's 4 GPUs are half planned: h100 starts earlier " + dry.raw());
        assertTrue(dry.body().get("gpu_type_choice").asText().startsWith("h100 of a100,h100: it starts now"), dry.raw());
        f.clock.advance(java.time.Duration.ofSeconds(1));
        // 8 GPUs: only an h100 node has them (a100 can never hold it: passed over, not an error)
        assertEquals("h100", f.call("POST", "/v1/jobs/submit", alice, body("a100,h100", 8)).body().get("gpu_type").asText());
        var none = f.call("POST", "/v1/jobs/submit", alice, body("a100,h100", 16));
        assertEquals(422, none.status(), none.raw());
        assertTrue(none.body().get("message").asText().startsWith("none of a100, h100 can hold it"), none.raw());
        assertEquals(400, f.call("POST", "/v1/jobs/submit", alice, body("a100,h999", 1)).status(), "an unknown type is a mistake");
    }
}
