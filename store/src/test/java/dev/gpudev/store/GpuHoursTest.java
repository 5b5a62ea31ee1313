package dev.gpudev.store;

import dev.gpudev.core.FairShare;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuHoursTest {
    static final Instant NOW = Instant.parse("2026-11-30T00:00:00Z");
    static final Duration WEEK = Duration.ofDays(7);
    static Database db;
    static long alice;
    static long bob;
    static long carol;
    final GpuHours hours = new GpuHours();

    @BeforeAll
    static void setUp() {
        db = TestDatabase.fresh();
        db.inTransaction(c -> {
            alice = new Users().ensure(c, "alice", false).userId();
            bob = new Users().ensure(c, "bob", false).userId();
            carol = new Users().ensure(c, "carol", false).userId();
            // alice: 8 GPUs for the last five days, still running; and one that ended 3 days ago after 10 hours
            row(c, alice, "active", 8, NOW.minus(Duration.ofDays(5)), null);
            row(c, alice, "expired", 2, NOW.minus(Duration.ofDays(3)).minus(Duration.ofHours(10)), NOW.minus(Duration.ofDays(3)));
            // bob: 4 GPUs on a day 6 days ago, cancelled; and one that waited and never ran
            row(c, bob, "cancelled", 4, NOW.minus(Duration.ofDays(7)), NOW.minus(Duration.ofDays(6)));
            row(c, bob, "cancelled", 8, null, NOW.minus(Duration.ofDays(1)));
            // carol: a year ago only
            row(c, carol, "expired", 8, NOW.minus(Duration.ofDays(366)), NOW.minus(Duration.ofDays(365)));
            return null;
        });
    }

    static void row(Connection c, long user, String status, int gpus, Instant launched, Instant ended) throws SQLException {
        try (var ps = c.prepareStatement("""
                insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at, launched_at,
                    status_changed_at) values (?, ?, ?, 'h100', ?, 24, ?, ?, ?)""")) {
            ps.setObject(1, UUID.randomUUID());
            ps.setLong(2, user);
            ps.setString(3, status);
            ps.setInt(4, gpus);
            ps.setTimestamp(5, Timestamp.from(launched == null ? ended.minusSeconds(60) : launched.minusSeconds(60)));
            ps.setTimestamp(6, launched == null ? null : Timestamp.from(launched));
            ps.setTimestamp(7, Timestamp.from(ended == null ? launched : ended));
            ps.executeUpdate();
        }
    }

    @Test
    void decayedUsageIsTheSumOfEachStretchsIntegralAsTheCoreComputesIt() {
        var used = db.inTransaction(c -> hours.decayed(c, NOW, WEEK));
        double aliceByHand = FairShare.decayedGpuHours(8, NOW.minus(Duration.ofDays(5)), NOW, NOW, WEEK)
                + FairShare.decayedGpuHours(2, NOW.minus(Duration.ofDays(3)).minus(Duration.ofHours(10)), NOW.minus(Duration.ofDays(3)), NOW, WEEK);
        assertEquals(aliceByHand, used.get(alice), 1e-6);
        assertEquals(FairShare.decayedGpuHours(4, NOW.minus(Duration.ofDays(7)), NOW.minus(Duration.ofDays(6)), NOW, WEEK), used.get(bob), 1e-6);
        assertEquals(50.457, used.get(bob), 0.001, "4 GPUs for a day 6 days ago: 96 GPU-hours, about half (4 × 168/ln 2 × (2^(−6/7) − 2^(−1)), by hand)");
        assertFalse(used.containsKey(carol), "a year ago is forgotten (beyond ten half-lives)");
    }

    @Test
    void stretchesOverlappingAWindowRunUntilNowWhileActive() {
        var stretches = db.inTransaction(c -> hours.of(c, alice, NOW.minus(Duration.ofDays(30)), NOW));
        assertEquals(List.of(
                new GpuHours.Stretch("h100", 8, NOW.minus(Duration.ofDays(5)), NOW),
                new GpuHours.Stretch("h100", 2, NOW.minus(Duration.ofDays(3)).minus(Duration.ofHours(10)), NOW.minus(Duration.ofDays(3)))),
                stretches);
        assertTrue(db.inTransaction(c -> hours.of(c, carol, NOW.minus(Duration.ofDays(30)), NOW)).isEmpty());
    }

    @Test
    void sharesAreOneUnlessSet() {
        assertTrue(db.inTransaction(c -> hours.shares(c)).isEmpty());
        assertEquals(bob, db.inTransaction(c -> hours.setShare(c, "bob", 2.5)).orElseThrow());
        assertEquals(2.5, db.inTransaction(c -> hours.shares(c)).get(bob));
        assertTrue(db.inTransaction(c -> hours.setShare(c, "nobody", 2)).isEmpty());
        db.inTransaction(c -> hours.setShare(c, "bob", 1));
    }

    @Test
    void pastUseRecordedAsAnEndedReservationCounts() {
        long dan = db.inTransaction(c -> new Users().ensure(c, "dan", false).userId());
        db.inTransaction(c -> {
            hours.recordEnded(c, dan, "a100", 2, NOW.minus(Duration.ofDays(2)), NOW.minus(Duration.ofDays(1)));
            return null;
        });
        assertEquals(FairShare.decayedGpuHours(2, NOW.minus(Duration.ofDays(2)), NOW.minus(Duration.ofDays(1)), NOW, WEEK),
                db.inTransaction(c -> hours.decayed(c, NOW, WEEK)).get(dan), 1e-6);
        assertEquals(List.of(new GpuHours.Stretch("a100", 2, NOW.minus(Duration.ofDays(2)), NOW.minus(Duration.ofDays(1)))),
                db.inTransaction(c -> hours.of(c, dan, NOW.minus(Duration.ofDays(30)), NOW)));
    }

    @Test
    void eachClassCountsByItsUsageWeight() {
        dev.gpudev.core.PriorityClass.define(List.of(dev.gpudev.core.PriorityClass.parse("batch:usage=0.5")));
        try {
            db.inTransaction(c -> {
                long dave = new Users().ensure(c, "dave", false).userId();
                for (String cls : List.of("normal", "batch", "preemptible")) {
                    try (var ps = c.prepareStatement("""
                            insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at, launched_at,
                                status_changed_at, priority_class) values (?, ?, 'expired', 'h100', 4, 1, ?, ?, ?, ?)""")) {
                        ps.setObject(1, UUID.randomUUID());
                        ps.setLong(2, dave);
                        ps.setTimestamp(3, Timestamp.from(NOW.minus(Duration.ofHours(3))));
                        ps.setTimestamp(4, Timestamp.from(NOW.minus(Duration.ofHours(3))));
                        ps.setTimestamp(5, Timestamp.from(NOW.minus(Duration.ofHours(2))));
                        ps.setString(6, cls);
                        ps.executeUpdate();
                    }
                }
                double one = FairShare.decayedGpuHours(4, NOW.minus(Duration.ofHours(3)), NOW.minus(Duration.ofHours(2)), NOW, WEEK);
                assertEquals(one * (1 + 0.5 + 0.25), hours.decayed(c, NOW, WEEK).get(dave), 1e-6, "normal whole, batch half, preemptible a quarter");
                c.rollback();
                return null;
            });
        } finally {
            dev.gpudev.core.PriorityClass.define(List.of());
        }
    }
}
