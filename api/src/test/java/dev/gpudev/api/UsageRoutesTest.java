package dev.gpudev.api;

import dev.gpudev.store.GpuHours;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPU usage and fair share over the API: figures against a hand computation, who may see what, shares. */
class UsageRoutesTest {
    static ApiFixture f;
    static String alice;
    static String bob;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        alice = f.newUser("alice");
        bob = f.newUser("bob");
        var id = f.activeReservation(alice, "two", 2);
        f.db.inTransaction(c -> { // 2 GPUs since 3 hours ago (the keys would expire if the clock moved on)
            try (var ps = c.prepareStatement("update reservations set launched_at = launched_at - interval '3 hours' where reservation_id = ?")) {
                ps.setObject(1, id);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void aUserSeesTheirGpuHoursByTypeAndDayAndTheirFairShareFactor() throws Exception {
        var r = f.call("GET", "/v1/usage", alice, null);
        assertEquals(200, r.status(), r.raw());
        assertEquals("alice", r.body().get("user").asText());
        assertEquals(6.0, r.body().get("gpu_hours").asDouble(), 0.01, "2 GPUs for 3 hours");
        assertEquals(6.0, r.body().get("gpu_hours_by_type").get("h100").asDouble(), 0.01);
        double daily = 0;
        for (var d : r.body().get("daily")) {
            daily += d.get("gpu_hours").path("h100").asDouble(0);
        }
        assertEquals(6.0, daily, 0.02, "the days add up");
        assertTrue(r.body().get("daily").size() >= 30, "a row per day of the last 30");
        var fs = r.body().get("fair_share");
        // the only user with usage: her usage share is 1 of her share 1 (nobody waits): factor 2^-1
        assertEquals(0.5, fs.get("factor").asDouble(), 0.001);
        assertEquals(168, fs.get("half_life_hours").asInt());
        assertTrue(fs.get("explained").asText().contains("12 of 24 hours of priority"), fs.get("explained").asText());
        // decayed by hand: 2 × 168/ln 2 × (1 − 2^(−3/168))
        assertEquals(2 * 168 / Math.log(2) * (1 - Math.pow(2, -3.0 / 168)), fs.get("decayed_gpu_hours").asDouble(), 0.01);

        var his = f.call("GET", "/v1/usage?since=7d", bob, null);
        assertEquals(0.0, his.body().get("gpu_hours").asDouble());
        assertEquals(1.0, his.body().get("fair_share").get("factor").asDouble());
        int days = his.body().get("daily").size();
        assertTrue(days == 7 || days == 8, "7 days: 7 or 8 calendar days (UTC), not " + days);
        assertTrue(his.body().get("fair_share").get("explained").asText().startsWith("no GPU use lately"));
    }

    @Test
    void onlyAnAdminSeesAnotherUsersUsage() throws Exception {
        var refused = f.call("GET", "/v1/usage?user=alice", bob, null);
        assertEquals(403, refused.status());
        assertEquals("forbidden", refused.body().get("error").asText());
        assertEquals(200, f.call("GET", "/v1/usage?user=alice", f.admin(), null).status());
        assertEquals(404, f.call("GET", "/v1/usage?user=nobody", f.admin(), null).status());
        var bad = f.call("GET", "/v1/usage?since=forever", alice, null);
        assertEquals(400, bad.status());
        assertTrue(bad.body().get("message").asText().contains("30d"));
        assertEquals(401, f.call("GET", "/v1/usage", null, null).status(), "anonymous: nothing");
    }

    @Test
    void anAdminSetsAShareAndNobodyElseMay() throws Exception {
        assertEquals(403, f.call("POST", "/v1/admin/users/bob/share", bob, "{\"share\":50}").status(), "not for oneself");
        assertEquals(400, f.call("POST", "/v1/admin/users/bob/share", f.admin(), "{\"share\":-1}").status());
        assertEquals(400, f.call("POST", "/v1/admin/users/bob/share", f.admin(), "{\"share\":\"lots\"}").status());
        assertEquals(400, f.call("POST", "/v1/admin/users/bob/share", f.admin(), "{\"share\":2,\"more\":1}").status());
        assertEquals(404, f.call("POST", "/v1/admin/users/nobody/share", f.admin(), "{\"share\":2}").status());
        var ok = f.call("POST", "/v1/admin/users/alice/share", f.admin(), "{\"share\":3}");
        assertEquals(200, ok.status(), ok.raw());
        assertEquals(3.0, f.db.query(c -> new GpuHours().shares(c)).values().iterator().next());
        f.call("POST", "/v1/admin/users/alice/share", f.admin(), "{\"share\":1}");
    }

    @Test
    void aDryRunIsPlacedByFairShare() throws Exception {
        // alice (who used GPUs) waits for the whole node; bob (who used none) would go ahead of her
        var hers = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1}");
        assertEquals(201, hers.status(), hers.raw());
        f.db.inTransaction(c -> {
            // the processor's plan, as it would write it
            try (var ps = c.prepareStatement("update reservations set queue_position = 1 where reservation_id = ?::uuid")) {
                ps.setString(1, hers.body().get("job_id").asText());
                ps.executeUpdate();
            }
            return null;
        });
        var dry = f.call("POST", "/v1/jobs/submit", bob, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1,\"dry_run\":true}");
        assertEquals(200, dry.status(), dry.raw());
        assertEquals(1, dry.body().get("queue_position").asInt(), "bob used nothing: ahead of alice's");
        f.clock.advance(java.time.Duration.ofSeconds(1)); // a moment after her first (the fixture's clock stands still)
        var mine = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1,\"dry_run\":true}");
        assertEquals(2, mine.body().get("queue_position").asInt(), "alice's next goes behind her first");
        var shown = f.call("GET", "/v1/jobs/" + hers.body().get("job_id").asText(), alice, null);
        assertTrue(shown.body().get("estimate_note").asText().contains("a newcomer whose user used less GPU time lately can still go ahead"),
                shown.raw());
        assertTrue(java.time.Instant.parse(shown.body().get("estimate_firm_from").asText()).isAfter(f.clock.instant()),
                "alice used GPUs: for a while others may go ahead of her");
        f.call("DELETE", "/v1/jobs/" + hers.body().get("job_id").asText(), alice, null);
    }
}
