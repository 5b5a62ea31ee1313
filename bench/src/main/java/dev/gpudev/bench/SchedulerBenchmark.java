package dev.gpudev.bench;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * One scheduling cycle with positions and ETAs for a deep queue on a large cluster.
 * {@code busy}: the cluster is full, nothing can start (the pure planning cost);
 * {@code freed}: a tenth of the cluster just freed up, so the cycle also admits.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SchedulerBenchmark {
    static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

    @Param({"10000"})
    int queued;

    @Param({"1000"})
    int nodes;

    @Param({"busy", "freed"})
    String cluster;

    /**
     * fifo: first come, first served (before fair share); fairshare: ordered by priority, the line's reasons
     * counted too; teams: the same with four users in five in 20 teams, ten of which are guaranteed 40 GPUs
     * (their claims go first and take GPUs back from borrowers).
     */
    @Param({"fifo", "fairshare", "teams"})
    String order;

    static String teamOf(long user) {
        return user % 5 == 4 ? null : "t" + (user % 20);
    }

    Scheduler.Snapshot snapshot;
    List<Reservation> queue;
    final Scheduler scheduler = new Scheduler(new Scheduler.Limits(16, java.util.Map.of()));

    @Setup(Level.Trial)
    public void setUp() {
        Random rnd = new Random(7);
        List<Capacity.Node> list = new ArrayList<>();
        List<Reservation> holding = new ArrayList<>();
        String[] hours = {"0.5", "1", "2", "4", "8", "12", "24"};
        int[] sizes = {1, 1, 2, 4, 8};
        for (int n = 0; n < nodes; n++) {
            list.add(new Capacity.Node("node-" + n, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), false));
            if ("freed".equals(cluster) && n % 10 == 0) {
                continue;
            }
            // Each busy node holds two reservations of 4 GPUs with different ends.
            for (int half = 0; half < 2; half++) {
                long user = rnd.nextInt(nodes * 2L > 0 ? nodes * 2 : 1);
                Instant end = NOW.plusSeconds(60 + rnd.nextInt(24 * 3600));
                holding.add(new Reservation(UUID.randomUUID(), user, "u", ReservationStatus.ACTIVE, "h100", 4, BigDecimal.TEN,
                        null, NOW.minusSeconds(3600), NOW.minusSeconds(3600), end,
                        Reservation.Placement.of("node-" + n, 4),
                        null, null, null, null, holderLifecycle(user), List.of()));
            }
        }
        queue = new ArrayList<>();
        for (int i = 0; i < queued; i++) {
            long user = rnd.nextInt(5000);
            queue.add(new Reservation(UUID.randomUUID(), user, "u", ReservationStatus.QUEUED, "h100", sizes[rnd.nextInt(sizes.length)],
                    new BigDecimal(hours[rnd.nextInt(hours.length)]), null, NOW.minusSeconds(queued - i), null, null, null, null,
                    null, null, null, lifecycle(user), List.of()));
        }
        dev.gpudev.core.FairShare standings = dev.gpudev.core.FairShare.none();
        if ("fairshare".equals(order)) {
            // Every user used something lately, a few of them a lot.
            java.util.Map<Long, Double> usage = new java.util.HashMap<>();
            for (long u = 0; u < 5000; u++) {
                usage.put(u, rnd.nextDouble() < 0.05 ? 500 + rnd.nextDouble() * 2000 : rnd.nextDouble() * 50);
            }
            standings = dev.gpudev.core.FairShare.of(dev.gpudev.core.FairShare.Policy.defaults(), usage, java.util.Map.of(),
                    java.util.Set.of());
        }
        if ("teams".equals(order)) {
            List<dev.gpudev.core.FairShare.Use> uses = new ArrayList<>();
            for (long u = 0; u < 5000; u++) {
                uses.add(new dev.gpudev.core.FairShare.Use(u, teamOf(u), rnd.nextDouble() < 0.05 ? 500 + rnd.nextDouble() * 2000 : rnd.nextDouble() * 50));
            }
            java.util.Map<String, java.util.Map<String, Integer>> guaranteed = new java.util.HashMap<>();
            for (int t = 0; t < 10; t++) {
                guaranteed.put("t" + t, java.util.Map.of("h100", 40));
            }
            standings = dev.gpudev.core.FairShare.of(dev.gpudev.core.FairShare.Policy.defaults(), uses, java.util.Map.of(),
                    java.util.Map.of("t0", 2.0), List.of()).withGuarantees(new dev.gpudev.core.Guarantees(guaranteed));
        }
        snapshot = new Scheduler.Snapshot(new Capacity(list), holding, standings);
        Scheduler.Plan plan = scheduler.plan(snapshot, queue, NOW);
        System.out.printf("%n[setup] %s: %d queued on %d nodes -> %d admitted, %d waiting, %d preempted, %d claimers%n", cluster, queued,
                nodes, plan.admissions().size(), plan.waiting().size(), plan.preemptions().size(), plan.claimers().size());
    }

    /** Holders: the guaranteed teams hold nothing (their waiting ones claim and take GPUs back); the others as they wait. */
    Reservation.Lifecycle holderLifecycle(long user) {
        String team = teamOf(user);
        return team != null && Integer.parseInt(team.substring(1)) < 10 ? null : lifecycle(user);
    }

    /** Charged to the user's team in the "teams" runs; no options otherwise. */
    Reservation.Lifecycle lifecycle(long user) {
        if (!"teams".equals(order)) {
            return null;
        }
        return new Reservation.Lifecycle(List.of(), null, null, false, null, false, Reservation.Options.NONE.withTeam(teamOf(user)));
    }

    @Benchmark
    public Object cycle() {
        Scheduler.Plan plan = scheduler.plan(snapshot, queue, NOW);
        if ("fifo".equals(order)) {
            return plan;
        }
        // What the processor adds under fair share: how many younger ones went ahead of each waiting one.
        java.util.Map<UUID, Reservation> byId = new java.util.HashMap<>();
        queue.forEach(r -> byId.put(r.id(), r));
        return dev.gpudev.core.FairShare.overtakenBy(plan.waiting().stream().map(w -> byId.get(w.reservationId())).toList());
    }
}
