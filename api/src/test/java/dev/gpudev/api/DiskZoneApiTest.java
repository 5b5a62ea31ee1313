package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A reservation with a disk is kept to the zone its volume lives in; one that cannot be is told why. */
class DiskZoneApiTest {
    static ApiFixture f;
    static String alice;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture(new Capacity(List.of(
                new Capacity.Node("a0", "h100", List.of(0, 1, 2, 3), false, Map.of(Reservation.Options.ZONE_LABEL, "us-east-1a")),
                new Capacity.Node("b0", "h100", List.of(0, 1, 2, 3), false, Map.of(Reservation.Options.ZONE_LABEL, "us-east-1b")),
                new Capacity.Node("b1", "a100", List.of(0, 1), false, Map.of(Reservation.Options.ZONE_LABEL, "us-east-1b")))));
        alice = f.newUser("alice");
        f.db.inTransaction(c -> {
            long id = new Users().findByName(c, "alice").orElseThrow().userId();
            long disk = new Disks().use(c, id, "work");
            return new Disks().recordZone(c, disk, "us-east-1a");
        });
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String submit(String more) {
        return "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"disk_name\":\"work\"" + more + "}";
    }

    @Test
    void aReservationWithADiskIsKeptToItsZone() throws Exception {
        var made = f.call("POST", "/v1/jobs/submit", alice, submit(""));
        assertEquals(201, made.status(), made.raw());
        assertEquals("us-east-1a", made.body().get("node_labels").get(Reservation.Options.ZONE_LABEL).asText());
        var other = f.call("POST", "/v1/jobs/submit", alice, submit(",\"node_labels\":{\"topology.kubernetes.io/zone\":\"us-east-1b\"}"));
        assertEquals(400, other.status(), other.raw());
        assertTrue(other.body().get("message").asText().contains("disk work lives in zone us-east-1a"), other.raw());
        // no a100 in the disk's zone: it could never start, and says so at submit
        var never = f.call("POST", "/v1/jobs/submit", alice, submit("").replace("h100", "a100"));
        assertEquals(422, never.status(), never.raw());
        // a new disk has no zone yet: anywhere
        var fresh = f.call("POST", "/v1/jobs/submit", alice, submit("").replace("\"work\"", "\"fresh\""));
        assertEquals(201, fresh.status(), fresh.raw());
        assertTrue(fresh.body().get("node_labels").isEmpty(), fresh.raw());
    }
}
