package dev.gpudev.bench;

import dev.gpudev.backend.spi.InMemoryBackend;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import dev.gpudev.processor.Parts;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How good the first estimated start is: a mixed trace (sizes 1 to 16 GPUs, 30 minutes to 4 hours,
 * releases before the end, extensions, cancels while waiting) replayed through the real processor and
 * scheduler on an embedded PostgreSQL and the in-memory backend, on an injected clock that jumps from
 * one event to the next (arrivals, users' actions, ends, estimated starts). For every reservation that
 * had to wait, the error of the first estimate it was given, |admitted − first estimate|, as a share of
 * its wait (admitted − submitted).
 *
 * <p>{@code bench/eta.sh [RESERVATIONS=400] [SEED=7]}; with {@code --no-surprises} nobody releases
 * early, extends or cancels: every first estimate must then be exact. With {@code --competing}, users
 * compete under fair share: u0 used 16 GPUs for the last five days and u1 8 GPUs for two, the others
 * nothing, and u0 and u1 send most of the arrivals (35% and 25%): the light users' arrivals go ahead of
 * theirs, so a heavy user's first estimate can move later; u2 and u3 form team ml, guaranteed 8 of the 24
 * GPUs (their arrivals within it go first and take back borrowed GPUs). {@code --fifo}: first come, first served
 * (fair-share weight 0), the baseline. {@code --explain} prints the five largest errors.
 */
public final class EtaAccuracy {
    private static final Instant START = Instant.parse("2026-06-01T08:00:00Z");
    private static final AtomicInteger QUEUES = new AtomicInteger();
    private static final String TEAM = "ml";

    /** What the trace says one reservation's user does. */
    record Plan(int index, String username, int gpus, BigDecimal hours, Instant arrives,
                Duration releaseAfter, BigDecimal extendBy, Duration extendAfter, Duration cancelWaitingAfter) {
    }

    /** One reservation's outcome: when it came, its first estimate, when it was admitted. */
    record Outcome(Plan plan, Instant submitted, Instant firstEstimate, Instant admitted) {
        boolean waited() {
            return firstEstimate != null && admitted != null;
        }

        double errorShare() {
            double wait = Duration.between(submitted, admitted).toMillis();
            return Math.abs(Duration.between(firstEstimate, admitted).toMillis()) / Math.max(wait, 1);
        }

        long errorSeconds() {
            return Duration.between(firstEstimate, admitted).toSeconds();
        }
    }

    /** The figures of one replay. */
    record Report(int reservations, int waited, int admittedAtOnce, int cancelledWaiting, double p50, double p90, double worst,
                  long p50Seconds, long p90Seconds, int early, int late, Duration simulated, long medianWaitSeconds) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d reservations over %.1f simulated hours: %d admitted at once, %d waited (median wait %d min), "
                            + "%d cancelled while waiting%nfirst-estimate error as a share of the wait: p50 %.3f, p90 %.3f, worst %.3f%n"
                            + "in time: p50 %d s, p90 %d s; the estimate was early (started later) for %d, late (started sooner) for %d",
                    reservations, simulated.toMinutes() / 60.0, admittedAtOnce, waited, medianWaitSeconds / 60, cancelledWaiting, p50, p90, worst,
                    p50Seconds, p90Seconds, early, late);
        }
    }

    private EtaAccuracy() {
    }

    private static volatile List<Outcome> worstLast = List.of();
    private static boolean explain;

    public static void main(String[] args) {
        boolean surprises = true;
        boolean competing = false;
        boolean fifo = false;
        List<String> rest = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--no-surprises")) {
                surprises = false;
            } else if (a.equals("--fifo")) {
                fifo = true;
            } else if (a.equals("--competing")) {
                competing = true;
            } else if (a.equals("--explain")) {
                explain = true;
            } else {
                rest.add(a);
            }
        }
        int n = rest.isEmpty() ? 400 : Integer.parseInt(rest.get(0));
        long seed = rest.size() < 2 ? 7 : Long.parseLong(rest.get(1));
        System.out.println(replay(trace(n, seed, surprises, competing), competing,
                fifo ? dev.gpudev.core.FairShare.Policy.off() : dev.gpudev.core.FairShare.Policy.defaults()));
        if (explain) {
            System.out.println("largest errors (share of the wait):");
            worstLast.forEach(o -> System.out.printf(Locale.ROOT, "  %s, %d GPUs for %s h: waited %d s, first estimate off by %d s (%.2f)%n",
                    o.plan().username(), o.plan().gpus(), o.plan().hours(), Duration.between(o.submitted(), o.admitted()).toSeconds(),
                    o.errorSeconds(), o.errorShare()));
        }
        System.exit(0);
    }

    static List<Plan> trace(int n, long seed, boolean surprises) {
        return trace(n, seed, surprises, false);
    }

    /**
     * The trace: arrivals about every 17 minutes (demand about 90% of capacity) on 24 GPUs (3 nodes of 8), sizes 1 (40%), 2 (25%),
     * 4 (20%), 8 (12%) and 16 as two whole nodes (3%), durations 0.5 to 4 hours; with surprises, 20%
     * release early (10% to 90% into their time), 10% extend by an hour halfway, 5% give up waiting
     * after 10 minutes to 2 hours.
     */
    static List<Plan> trace(int n, long seed, boolean surprises, boolean competing) {
        Random rnd = new Random(seed);
        List<Plan> plans = new ArrayList<>();
        Instant at = START;
        String[] hours = {"0.5", "1", "1.5", "2", "3", "4"};
        for (int i = 0; i < n; i++) {
            at = at.plusSeconds((long) (-Math.log(1 - rnd.nextDouble()) * 1020));
            double s = rnd.nextDouble();
            int gpus = s < 0.40 ? 1 : s < 0.65 ? 2 : s < 0.85 ? 4 : s < 0.97 ? 8 : 16;
            BigDecimal h = new BigDecimal(hours[rnd.nextInt(hours.length)]);
            long seconds = h.multiply(BigDecimal.valueOf(3600)).longValue();
            double b = rnd.nextDouble();
            Duration release = surprises && b < 0.20 ? Duration.ofSeconds((long) (seconds * (0.1 + 0.8 * rnd.nextDouble()))) : null;
            boolean extend = surprises && b >= 0.20 && b < 0.30;
            Duration cancelWaiting = surprises && b >= 0.30 && b < 0.35 ? Duration.ofSeconds(600 + rnd.nextInt(6600)) : null;
            int user = competing ? heavySkewed(rnd) : rnd.nextInt(8); // the plain trace draws as it always did
            plans.add(new Plan(i, "u" + user, gpus, h, at, release, extend ? BigDecimal.ONE : null,
                    extend ? Duration.ofSeconds(seconds / 2) : null, cancelWaiting));
        }
        return plans;
    }

    /** u0 35%, u1 25%, u2 to u7 the rest. */
    private static int heavySkewed(Random rnd) {
        double who = rnd.nextDouble();
        return who < 0.35 ? 0 : who < 0.60 ? 1 : 2 + rnd.nextInt(6);
    }

    /** Replays the trace through a processor on a fresh database; one report. */
    static Report replay(List<Plan> trace, dev.gpudev.core.FairShare.Policy policy) {
        return replay(trace, false, policy);
    }

    static Report replay(List<Plan> trace, boolean competing, dev.gpudev.core.FairShare.Policy policy) {
        Database db = TestDatabase.fresh();
        try {
            return replay(db, trace, competing, policy);
        } finally {
            db.close();
        }
    }

    /** What a user used before the trace: {@code gpus} GPUs for {@code days} days, ended a day before it starts. */
    private static void used(Database db, long user, int gpus, int days) {
        Instant end = START.minus(Duration.ofDays(1));
        db.inTransaction(c -> {
            new dev.gpudev.store.GpuHours().recordEnded(c, user, "h100", gpus, end.minus(Duration.ofDays(days)), end);
            return null;
        });
    }

    private static Report replay(Database db, List<Plan> trace, boolean competing, dev.gpudev.core.FairShare.Policy policy) {
        MutableClock clock = new MutableClock(START);
        Pgmq pgmq = new Pgmq();
        CommandQueue commands = new CommandQueue(pgmq, "eta_q" + ProcessHandle.current().pid() + "_" + QUEUES.incrementAndGet());
        commands.ensureQueue(db);
        List<Capacity.Node> nodes = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            nodes.add(new Capacity.Node("n" + n, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true));
        }
        InMemoryBackend backend = new InMemoryBackend(new Capacity(nodes));
        Processor processor = new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline())
                .withFairShare(policy));
        Reservations reservations = new Reservations();
        Map<String, Long> users = new HashMap<>();
        for (Plan p : trace) {
            users.computeIfAbsent(p.username(), u -> db.inTransaction(c -> new Users().ensure(c, u, false).userId()));
        }
        if (competing) {
            used(db, users.get("u0"), 16, 5);
            used(db, users.get("u1"), 8, 2);
        }
        final boolean teams = competing && policy.weightHours() > 0; // the first-come baseline is the platform without either
        if (teams) {
            // team ml (u2 and u3) is guaranteed one node of the three; it used 8 GPUs for a day
            db.inTransaction(c -> {
                var repo = new dev.gpudev.store.Teams();
                repo.create(c, TEAM);
                repo.guarantee(c, TEAM, "h100", 8);
                for (String u : List.of("u2", "u3")) {
                    if (users.containsKey(u)) {
                        repo.addMember(c, TEAM, users.get(u), true);
                    }
                }
                if (users.containsKey("u2")) {
                    Instant end = START.minus(Duration.ofDays(1));
                    new dev.gpudev.store.GpuHours().recordEnded(c, users.get("u2"), TEAM, "h100", 8, end.minus(Duration.ofDays(1)), end);
                }
                return null;
            });
        }

        Map<UUID, Plan> plans = new HashMap<>();
        Map<UUID, Instant> submitted = new HashMap<>();
        Map<UUID, Instant> firstEstimate = new HashMap<>();
        Map<UUID, Boolean> acted = new HashMap<>();
        List<Plan> arrivals = new ArrayList<>(trace);
        arrivals.sort(Comparator.comparing(Plan::arrives));
        int next = 0;
        Map<UUID, Reservation> live = new HashMap<>();
        Map<UUID, Reservation> ended = new HashMap<>();
        while (next < arrivals.size() || !live.isEmpty()) {
            Instant now = clock.instant();
            for (; next < arrivals.size() && !arrivals.get(next).arrives().isAfter(now); next++) {
                Plan p = arrivals.get(next);
                UUID id = submit(db, commands, reservations, clock, users.get(p.username()), p,
                        teams && (p.username().equals("u2") || p.username().equals("u3")) ? TEAM : null);
                plans.put(id, p);
                submitted.put(id, now);
            }
            // What the users do now: give up waiting, release early, extend.
            for (Reservation r : live.values()) {
                Plan p = plans.get(r.id());
                if (Boolean.TRUE.equals(acted.get(r.id()))) {
                    continue;
                }
                if (r.status() == ReservationStatus.QUEUED && p.cancelWaitingAfter() != null
                        && !submitted.get(r.id()).plus(p.cancelWaitingAfter()).isAfter(now)) {
                    send(db, commands, new Command.Cancel(r.id(), p.username()));
                    acted.put(r.id(), true);
                } else if (r.status() == ReservationStatus.ACTIVE && r.launchedAt() != null) {
                    if (p.releaseAfter() != null && !r.launchedAt().plus(p.releaseAfter()).isAfter(now)) {
                        send(db, commands, new Command.Cancel(r.id(), p.username()));
                        acted.put(r.id(), true);
                    } else if (p.extendBy() != null && !r.launchedAt().plus(p.extendAfter()).isAfter(now)) {
                        send(db, commands, new Command.Extend(r.id(), p.username(), p.extendBy()));
                        acted.put(r.id(), true);
                    }
                }
            }
            // Enough cycles for a chain (commands, expiry, admission, start) to settle at this instant.
            for (int i = 0; i < 3; i++) {
                processor.cycle();
                clock.advance(Duration.ofMillis(1));
            }
            live.clear();
            for (UUID id : plans.keySet()) {
                if (ended.containsKey(id)) {
                    continue;
                }
                Reservation r = db.query(c -> reservations.find(c, id)).orElseThrow();
                if (r.status() == ReservationStatus.QUEUED && r.estimatedStart() != null) {
                    firstEstimate.putIfAbsent(id, r.estimatedStart());
                }
                if (r.status().isTerminal()) {
                    ended.put(id, r);
                } else {
                    live.put(id, r);
                }
            }
            clock.advance(Duration.between(clock.instant(), nextEvent(clock.instant(), arrivals, next, live, plans, submitted, acted)));
        }
        processor.close();

        List<Outcome> outcomes = new ArrayList<>();
        int atOnce = 0;
        int cancelledWaiting = 0;
        for (Map.Entry<UUID, Reservation> e : ended.entrySet()) {
            Reservation r = e.getValue();
            Instant admitted = null;
            for (StatusChange h : r.history()) {
                if (h.status() == ReservationStatus.PREPARING) {
                    admitted = h.at();
                    break;
                }
            }
            Instant first = firstEstimate.get(e.getKey());
            if (admitted == null) {
                cancelledWaiting++;
            } else if (first == null) {
                atOnce++;
            } else {
                outcomes.add(new Outcome(plans.get(e.getKey()), submitted.get(e.getKey()), first, admitted));
            }
        }
        double[] shares = outcomes.stream().mapToDouble(Outcome::errorShare).sorted().toArray();
        worstLast = outcomes.stream().sorted(Comparator.comparingDouble(Outcome::errorShare).reversed()).limit(5).toList();
        long[] seconds = outcomes.stream().mapToLong(o -> Math.abs(o.errorSeconds())).sorted().toArray();
        long[] waits = outcomes.stream().mapToLong(o -> Duration.between(o.submitted(), o.admitted()).toSeconds()).sorted().toArray();
        int early = (int) outcomes.stream().filter(o -> o.errorSeconds() > 0).count();
        int late = (int) outcomes.stream().filter(o -> o.errorSeconds() < 0).count();
        return new Report(trace.size(), outcomes.size(), atOnce, cancelledWaiting, quantile(shares, 0.5), quantile(shares, 0.9),
                shares.length == 0 ? 0 : shares[shares.length - 1], seconds.length == 0 ? 0 : seconds[(seconds.length - 1) / 2],
                seconds.length == 0 ? 0 : seconds[(int) Math.ceil(0.9 * seconds.length) - 1], early, late,
                Duration.between(START, clock.instant()), waits.length == 0 ? 0 : waits[(waits.length - 1) / 2]);
    }

    /** The next instant anything can happen: an arrival, a user's action, an end (with its grace minute), an estimated start. */
    private static Instant nextEvent(Instant now, List<Plan> arrivals, int next, Map<UUID, Reservation> live, Map<UUID, Plan> plans,
                                     Map<UUID, Instant> submitted, Map<UUID, Boolean> acted) {
        Instant best = now.plus(Duration.ofMinutes(10));
        if (next < arrivals.size()) {
            best = min(best, arrivals.get(next).arrives());
        }
        for (Reservation r : live.values()) {
            Plan p = plans.get(r.id());
            if (r.expiresAt() != null) {
                best = min(best, r.expiresAt().plus(Duration.ofMinutes(1)));
            }
            if (r.estimatedStart() != null) {
                best = min(best, r.estimatedStart());
            }
            if (!Boolean.TRUE.equals(acted.get(r.id()))) {
                if (r.status() == ReservationStatus.QUEUED && p.cancelWaitingAfter() != null) {
                    best = min(best, submitted.get(r.id()).plus(p.cancelWaitingAfter()));
                }
                if (r.launchedAt() != null && p.releaseAfter() != null) {
                    best = min(best, r.launchedAt().plus(p.releaseAfter()));
                }
                if (r.launchedAt() != null && p.extendAfter() != null) {
                    best = min(best, r.launchedAt().plus(p.extendAfter()));
                }
            }
        }
        return best.isAfter(now) ? best : now.plusMillis(1);
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static double quantile(double[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.ceil(q * sorted.length) - 1];
    }

    /** What the API does on submit: the row and its create command in one statement. */
    private static UUID submit(Database db, CommandQueue commands, Reservations reservations, MutableClock clock, long user, Plan p, String team) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        Reservation.Options options = Reservation.Options.NONE.withDistributed(p.gpus() > 8).withTeam(team);
        Reservation r = new Reservation(id, user, p.username(), ReservationStatus.QUEUED, "h100", p.gpus(), p.hours(), null, at, null,
                null, null, null, null, "queued", null,
                new Reservation.Lifecycle(List.of(), null, null, true, null, false, options),
                List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted")));
        db.query(c -> commands.submit(c, reservations, r, null));
        return id;
    }

    private static void send(Database db, CommandQueue commands, Command command) {
        db.inTransaction(c -> commands.send(c, command));
    }
}
