package dev.gpudev.store;

import dev.gpudev.core.FairShare;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TeamsTest {
    static final Instant NOW = Instant.parse("2026-11-30T00:00:00Z");
    static Database db;
    static long alice;
    static long bob;
    final Teams teams = new Teams();

    @BeforeAll
    static void setUp() {
        db = TestDatabase.fresh();
        db.inTransaction(c -> {
            alice = new Users().ensure(c, "alice", false).userId();
            bob = new Users().ensure(c, "bob", false).userId();
            return null;
        });
    }

    @Test
    void teamsHaveMembersOneDefaultEachGuaranteesAndCaps() {
        db.inTransaction(c -> {
            assertTrue(teams.create(c, "ml"));
            assertFalse(teams.create(c, "ml"), "one team of a name");
            assertTrue(teams.create(c, "cv"));
            assertTrue(teams.addMember(c, "ml", alice, true));
            assertTrue(teams.addMember(c, "cv", alice, true));
            assertFalse(teams.addMember(c, "nope", alice, false));
            assertEquals(List.of(new Teams.Membership("cv", true), new Teams.Membership("ml", false)), teams.of(c, alice),
                    "a new default replaces the old one");
            assertTrue(teams.guarantee(c, "ml", "h100", 8));
            assertTrue(teams.guarantee(c, "ml", "h100", 16));
            assertTrue(teams.guarantee(c, "cv", "a100", 4));
            assertTrue(teams.guarantee(c, "cv", "a100", 0));
            assertFalse(teams.guarantee(c, "nope", "h100", 1));
            assertEquals(16, teams.guarantees(c).of("ml", "h100"));
            assertEquals(0, teams.guarantees(c).of("cv", "a100"));
            assertTrue(teams.update(c, "ml", 2.0, 5, null));
            var ml = teams.find(c, "ml").orElseThrow();
            assertEquals(2.0, ml.share());
            assertEquals(5, ml.maxWaiting());
            assertEquals(0, ml.maxWaitingGpuHours());
            assertEquals(Map.of("h100", 16), ml.guarantees());
            assertEquals(List.of(new Teams.Member(alice, "alice", false)), ml.members());
            assertEquals(Map.of("ml", 2.0), teams.shares(c));
            assertTrue(teams.removeMember(c, "ml", alice));
            assertFalse(teams.removeMember(c, "ml", alice));
            assertTrue(teams.delete(c, "cv"));
            assertEquals(List.of(), teams.of(c, alice), "memberships go with their team");
            assertFalse(teams.all(c).stream().map(Teams.Team::name).toList().contains("cv"));
            return null;
        });
    }

    @Test
    void usageIsChargedToTheTeamOfEachReservationAndStandingsCarryTheGuarantees() {
        db.inTransaction(c -> {
            teams.create(c, "nlp");
            teams.guarantee(c, "nlp", "h100", 8);
            var hours = new GpuHours();
            hours.recordEnded(c, bob, "nlp", "h100", 4, NOW.minus(Duration.ofHours(10)), NOW.minus(Duration.ofHours(5)));
            hours.recordEnded(c, bob, null, "h100", 2, NOW.minus(Duration.ofHours(10)), NOW.minus(Duration.ofHours(5)));
            var week = Duration.ofDays(7);
            var uses = hours.uses(c, NOW, week);
            double team = uses.stream().filter(u -> u.user() == bob && "nlp".equals(u.team())).mapToDouble(FairShare.Use::gpuHours).sum();
            double none = uses.stream().filter(u -> u.user() == bob && u.team() == null).mapToDouble(FairShare.Use::gpuHours).sum();
            assertEquals(FairShare.decayedGpuHours(4, NOW.minus(Duration.ofHours(10)), NOW.minus(Duration.ofHours(5)), NOW, week), team, 1e-6);
            assertEquals(team / 2, none, 1e-6);
            assertEquals(List.of(new GpuHours.Stretch("h100", 4, NOW.minus(Duration.ofHours(10)), NOW.minus(Duration.ofHours(5)))),
                    hours.ofTeam(c, "nlp", NOW.minus(Duration.ofDays(1)), NOW), "only what was charged to the team");
            var standings = hours.standings(c, FairShare.Policy.defaults(), NOW);
            assertEquals(8, standings.guarantees().of("nlp", "h100"));
            assertTrue(standings.team("nlp").usedGpuHours() > 0);
            assertEquals(8, hours.standings(c, FairShare.Policy.off(), NOW).guarantees().of("nlp", "h100"), "first come, first served keeps them");
            assertEquals(new Teams.Waiting(0, BigDecimal.ZERO), teams.waiting(c, "nlp"));
            return null;
        });
    }

    @Test
    void aMemberWhoLeavesTakesTheirWaitingReservationsOutOfTheTeam() {
        db.inTransaction(c -> {
            teams.create(c, "rl");
            teams.addMember(c, "rl", bob, true);
            try (var ps = c.prepareStatement("""
                    insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at, team)
                    values (gen_random_uuid(), ?, 'queued', 'h100', 1, 1, now(), 'rl'), (gen_random_uuid(), ?, 'expired', 'h100', 1, 1, now(), 'rl')""")) {
                ps.setLong(1, bob);
                ps.setLong(2, bob);
                ps.executeUpdate();
            }
            teams.removeMember(c, "rl", bob);
            try (var ps = c.prepareStatement("select status, team from reservations where user_id = ? and created_at > now() - interval '1 minute'"
                    + " order by status")) {
                ps.setLong(1, bob);
                try (var rs = ps.executeQuery()) {
                    java.util.Map<String, String> byStatus = new java.util.HashMap<>();
                    while (rs.next()) {
                        byStatus.put(rs.getString(1), rs.getString(2));
                    }
                    assertEquals(null, byStatus.get("queued"), "no longer claims the team's guarantee");
                    assertEquals("rl", byStatus.get("expired"), "what ran stays the team's usage");
                }
            }
            c.rollback();
            return null;
        });
    }
}
