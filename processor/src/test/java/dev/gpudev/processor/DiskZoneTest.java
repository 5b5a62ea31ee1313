package dev.gpudev.processor;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.Disks;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A disk's volume lives where its first reservation ran (a zonal EBS volume): that zone is recorded, and kept. */
class DiskZoneTest extends ProcessorFixture {
    @Override
    Capacity capacity() {
        return new Capacity(List.of(
                new Capacity.Node("a0", "h100", List.of(0, 1), false, Map.of(Reservation.Options.ZONE_LABEL, "us-east-1a")),
                new Capacity.Node("b0", "h100", List.of(0, 1), false, Map.of(Reservation.Options.ZONE_LABEL, "us-east-1b"))));
    }

    Reservation.Options disk(String name) {
        return new Reservation.Options(name, false, null, Map.of(), false, null);
    }

    @Test
    void aDisksFirstNodeGivesItsZoneAndTheZoneIsKept() {
        UUID first = submit(alice, 2, "1", disk("work"));
        Processor p = processor();
        p.cycle();
        Reservation r = get(first);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        String node = r.placement().node();
        String zone = node.equals("a0") ? "us-east-1a" : "us-east-1b";
        assertEquals(zone, db.query(c -> new Disks().zone(c, alice, "work")).orElseThrow(), "recorded with its activation");
        // a second reservation elsewhere never moves it
        db.inTransaction(c -> new Disks().recordZone(c, r.options().diskId(), "us-west-2c"));
        assertEquals(zone, db.query(c -> new Disks().zone(c, alice, "work")).orElseThrow());
        // a reservation without a disk records nothing
        UUID plain = submit(bob, 1, "1", Reservation.Options.NONE);
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(plain).status());
        assertTrue(db.query(c -> new Disks().zone(c, bob, "work")).isEmpty());
    }
}
