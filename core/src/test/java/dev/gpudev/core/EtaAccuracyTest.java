package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replays a synthetic day of arrivals through the scheduler and measures how far the estimated start
 * told at submit was from the real start. Early cancels make the truth earlier than the estimate:
 * the estimate assumes everyone keeps their GPUs to the end.
 */
class EtaAccuracyTest {
    static final Instant T0 = Instant.parse("2026-06-01T08:00:00Z");

    record Job(Reservation r, double keepFraction) {
    }

    record Event(Instant at, UUID id, boolean arrival) {
    }

    @Test
    void estimatedStartsOfASyntheticDay() {
        Result withCancels = replay(new Random(42), 0.2);
        Result noCancels = replay(new Random(42), 0.0);
        System.out.printf("ETA error, synthetic day (%d jobs waited), 20%% early cancels: median %.1f min, p90 %.1f min%n",
                withCancels.errors.size(), withCancels.median(), withCancels.p90());
        System.out.printf("ETA error, same day without early cancels: median %.1f min, p90 %.1f min%n",
                noCancels.median(), noCancels.p90());
        assertTrue(withCancels.errors.size() > 20, "the day must make people wait: " + withCancels.errors.size());
        assertTrue(noCancels.p90() < 0.5, "with no early cancels the plan is exact: " + noCancels.p90());
        assertTrue(withCancels.median() < 60, "median error " + withCancels.median());
    }

    record Result(List<Double> errors) {
        double median() {
            return pct(0.5);
        }

        double p90() {
            return pct(0.9);
        }

        double pct(double p) {
            List<Double> s = new ArrayList<>(errors);
            s.sort(Double::compare);
            return s.isEmpty() ? 0 : s.get((int) Math.min(s.size() - 1, Math.floor(p * s.size())));
        }
    }

    static Result replay(Random rnd, double cancelShare) {
        List<Capacity.Node> nodes = new ArrayList<>();
        for (int n = 0; n < 4; n++) {
            nodes.add(new Capacity.Node("n" + n, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true));
        }
        Capacity capacity = new Capacity(nodes);
        Scheduler scheduler = new Scheduler();
        int[] sizes = {1, 1, 1, 2, 2, 4, 8};
        String[] hours = {"0.5", "1", "1", "2", "2", "4", "8"};
        PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.at().compareTo(b.at()));
        Map<UUID, Job> jobs = new HashMap<>();
        Instant t = T0;
        for (int i = 0; i < 144; i++) {
            t = t.plusSeconds((long) (-Math.log(1 - rnd.nextDouble()) * 600)); // one arrival every 10 minutes for a day: more GPU-hours asked than the day has
            long user = rnd.nextInt(30);
            var r = new Reservation(new UUID(0, i), user, "u" + user, ReservationStatus.QUEUED, "h100", sizes[rnd.nextInt(sizes.length)],
                    new BigDecimal(hours[rnd.nextInt(hours.length)]), null, t, null, null, null, null, null, null, null, null, List.of());
            double keep = rnd.nextDouble() < cancelShare ? 0.1 + 0.8 * rnd.nextDouble() : 1.0;
            jobs.put(r.id(), new Job(r, keep));
            events.add(new Event(t, r.id(), true));
        }
        Map<UUID, Reservation> queued = new HashMap<>();
        Map<UUID, Reservation> running = new HashMap<>();
        Map<UUID, Instant> toldEta = new HashMap<>();
        List<Double> errors = new ArrayList<>();
        while (!events.isEmpty()) {
            Instant now = events.peek().at();
            while (!events.isEmpty() && events.peek().at().equals(now)) {
                Event e = events.poll();
                if (e.arrival()) {
                    queued.put(e.id(), jobs.get(e.id()).r());
                } else {
                    running.remove(e.id());
                }
            }
            var plan = scheduler.plan(new Scheduler.Snapshot(capacity, List.copyOf(running.values())), List.copyOf(queued.values()), now);
            for (var w : plan.waiting()) {
                toldEta.putIfAbsent(w.reservationId(), w.estimatedStart());
            }
            for (var a : plan.admissions()) {
                Reservation q = queued.remove(a.reservationId());
                Duration d = Duration.ofMillis(Scheduler.millis(q.durationHours()));
                Instant end = now.plus(d);
                running.put(q.id(), new Reservation(q.id(), q.userId(), q.username(), ReservationStatus.ACTIVE, q.gpuType(), q.gpuCount(),
                        q.durationHours(), null, q.createdAt(), now, end, a.placement(), null, null, null, null, null, List.of()));
                Job job = jobs.get(q.id());
                Instant leaves = now.plusMillis((long) (d.toMillis() * job.keepFraction()));
                events.add(new Event(leaves, q.id(), false));
                Instant eta = toldEta.get(q.id());
                if (eta != null) {
                    errors.add(Math.abs(Duration.between(eta, now).toSeconds()) / 60.0);
                }
            }
        }
        return new Result(errors);
    }
}
