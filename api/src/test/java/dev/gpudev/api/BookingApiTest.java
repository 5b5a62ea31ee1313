package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bookings ahead at submit: what is accepted, what is refused and why. */
class BookingApiTest {
    static ApiFixture f;
    static String alice;
    static String bob;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        alice = f.newUser("alice");
        bob = f.newUser("bob");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String booking(int gpus, Instant at, String extra) {
        return "{\"gpu_type\":\"h100\",\"gpu_count\":" + gpus + ",\"duration_hours\":2,\"start_at\":\"" + at + "\"" + extra + "}";
    }

    static Instant inHours(long h) {
        return Instant.now().plus(Duration.ofHours(h)).truncatedTo(ChronoUnit.MINUTES);
    }

    @Test
    void aBookingKeepsItsWindowAndASecondOneThereIsRefused() throws Exception {
        Instant at = inHours(30);
        var first = f.call("POST", "/v1/jobs/submit", alice, booking(8, at, ""));
        assertEquals(201, first.status(), first.raw());
        assertEquals(at.toString(), first.body().get("start_at").asText());
        var clash = f.call("POST", "/v1/jobs/submit", bob, booking(4, at.plus(Duration.ofHours(1)), ""));
        assertEquals(409, clash.status(), clash.raw());
        assertEquals("booking_unavailable", clash.body().get("error").asText());
        assertTrue(clash.body().get("message").asText().contains("held or booked until " + at.plus(Duration.ofHours(2)).plusSeconds(60)),
                clash.raw());
        var after = f.call("POST", "/v1/jobs/submit", bob, booking(4, at.plus(Duration.ofHours(2)).plusSeconds(60), ""));
        assertEquals(201, after.status(), "from the end of the first window: " + after.raw());
        var dry = f.call("POST", "/v1/jobs/submit", bob, booking(8, at.plus(Duration.ofHours(1)), ",\"dry_run\":true"));
        assertEquals(409, dry.status(), "a dry run says so too");
    }

    @Test
    void aBookingWhoseGpusAreHeldIsRefused() throws Exception {
        f.activeReservation(alice, "all-of-it", 8); // 8 GPUs for the next hour
        var r = f.call("POST", "/v1/jobs/submit", bob, booking(8, Instant.now().plus(Duration.ofMinutes(30)).truncatedTo(ChronoUnit.SECONDS), ""));
        assertEquals(409, r.status(), r.raw());
        assertTrue(r.body().get("message").asText().contains("cannot be honoured"), r.raw());
    }

    @Test
    void badStartsAreClearErrors() throws Exception {
        assertEquals(400, f.call("POST", "/v1/jobs/submit", alice, booking(1, Instant.now().plusSeconds(10), "")).status(), "too soon");
        var far = f.call("POST", "/v1/jobs/submit", alice, booking(1, inHours(24 * 8), ""));
        assertEquals(400, far.status());
        assertTrue(far.body().get("message").asText().contains("7 days"), far.raw());
        var preemptible = f.call("POST", "/v1/jobs/submit", alice, booking(1, inHours(40), ",\"priority_class\":\"preemptible\""));
        assertEquals(400, preemptible.status());
        var garbage = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"start_at\":\"tomorrow\"}");
        assertEquals(400, garbage.status());
        assertTrue(garbage.body().get("message").asText().contains("2026-12-04T09:00:00Z"), garbage.raw());
    }
}
