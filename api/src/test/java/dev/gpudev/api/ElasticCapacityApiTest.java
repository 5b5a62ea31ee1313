package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A type whose elastic pool is at zero nodes may be reserved; its GPUs show as on demand, not available. */
class ElasticCapacityApiTest {
    static ApiFixture f;
    static String alice;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture(new Capacity(List.of(
                new Capacity.Node("a0", "a100", List.of(0, 1), false),
                new Capacity.Node("potential-h100-1", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), false, Map.of(Capacity.POTENTIAL, "true")),
                new Capacity.Node("potential-h100-2", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), false, Map.of(Capacity.POTENTIAL, "true")))));
        alice = f.newUser("alice");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void aTypeAtZeroIsReservableAndShownOnDemand() throws Exception {
        var made = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1}");
        assertEquals(201, made.status(), made.raw());
        var wide = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":24,\"duration_hours\":1,\"distributed\":true}");
        assertEquals(422, wide.status(), "more whole nodes than the pool may ever have: " + wide.raw());
        var avail = f.call("GET", "/v1/gpu/availability", alice, null).body().get("gpu_types");
        for (var t : avail) {
            if (t.get("gpu_type").asText().equals("h100")) {
                assertEquals(0, t.get("total").asInt());
                assertEquals(0, t.get("available").asInt());
                assertEquals(16, t.get("on_demand").asInt());
            } else {
                assertEquals(0, t.get("on_demand").asInt());
            }
        }
    }
}
