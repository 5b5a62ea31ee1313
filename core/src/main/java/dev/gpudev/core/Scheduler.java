package dev.gpudev.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Scheduling: a pure decision over a snapshot, with no I/O.
 *
 * <p>Reservations are taken in {@link FairShare} order (highest priority first; with no usage, or the
 * weight 0, oldest first). Each gets a slot in a simulated future: holders free their
 * GPUs at {@code expires_at} plus the grace period (when the processor really ends them), and every
 * waiting one is planned at the earliest time its GPUs are free for its whole duration, after the
 * plans of all ahead of it. A slot that starts now is an admission; any other is the reservation's
 * estimated start. This is conservative backfill: a reservation further back starts early only in a
 * gap that delays no planned start of one ahead of it.
 *
 * <p>The work of one cycle is split by role: {@link NodeIndex} finds nodes, {@link UserQuota} keeps
 * per-user limits, {@link Gang} places distributed reservations on whole nodes, {@link Feasibility}
 * says what can never fit; {@link Cycle} puts them together.
 */
public final class Scheduler {

    /** Concurrent GPUs a user may hold; 0 means no limit. */
    public record Limits(int maxGpusPerUser, Map<String, Integer> maxGpusPerUserPerType) {
        /** {@code maxGpusPerUser} chosen from the capacity: see {@link #resolvedFor}. */
        public static final int AUTO = -1;

        public Limits {
            maxGpusPerUserPerType = Map.copyOf(maxGpusPerUserPerType);
        }

        public static Limits none() {
            return new Limits(0, Map.of());
        }

        /** The default: see {@link #resolvedFor}. */
        public static Limits auto() {
            return new Limits(AUTO, Map.of());
        }

        /**
         * These limits for this capacity. "auto" becomes, per GPU type: every GPU of it when it has one or
         * two nodes (below that, a job across the machines could never run; the waiting limits keep the
         * queue fair), else half of its GPUs and always at least one whole node. Types the admin set keep
         * their value.
         */
        public Limits resolvedFor(Capacity capacity) {
            if (maxGpusPerUser != AUTO) {
                return this;
            }
            Map<String, Integer> total = new java.util.HashMap<>();
            Map<String, Integer> largest = new java.util.HashMap<>();
            Map<String, Integer> nodes = new java.util.HashMap<>();
            for (Capacity.Node n : capacity.nodes()) {
                total.merge(n.gpuType(), n.gpus().size(), Integer::sum);
                largest.merge(n.gpuType(), n.gpus().size(), Math::max);
                nodes.merge(n.gpuType(), 1, Integer::sum);
            }
            Map<String, Integer> perType = new java.util.HashMap<>();
            total.forEach((type, t) -> perType.put(type, nodes.get(type) <= 2 ? t : Math.max(largest.get(type), t / 2)));
            perType.putAll(maxGpusPerUserPerType);
            return new Limits(0, perType);
        }
    }

    /** What the cycle sees: capacity, every reservation that holds GPUs now, and the users' fair-share standings. */
    public record Snapshot(Capacity capacity, List<Reservation> holding, FairShare fairShare) {
        public Snapshot {
            holding = List.copyOf(holding);
            fairShare = fairShare == null ? FairShare.none() : fairShare;
        }

        /** First come, first served. */
        public Snapshot(Capacity capacity, List<Reservation> holding) {
            this(capacity, holding, FairShare.none());
        }
    }

    public record Admission(UUID reservationId, Reservation.Placement placement) {
    }

    /**
     * Why a reservation still waits, its place in its type's line (1 = next), when it should start and on
     * which nodes (kept on the row: the next plan prefers them when they still offer that start).
     */
    public record Waiting(UUID reservationId, int position, PendingReason reason, Instant estimatedStart, List<String> nodes) {
        public Waiting {
            nodes = nodes == null ? List.of() : List.copyOf(nodes);
        }
    }

    /** Why it waits; BOOKED: a booking whose window is kept and starts on time. */
    public enum PendingReason { WAITING_FOR_CAPACITY, USER_GPU_LIMIT, WAITING_FOR_DISK, NO_CAPACITY_OF_TYPE, BOOKED }

    /**
     * A running reservation whose GPUs a reservation with a better claim needs: it ends at {@code endsAt}
     * (at least the notice ahead); {@code reason} says who claims them.
     */
    public record Preemption(UUID reservationId, Instant endsAt, String reason) {
        public static final String BETTER_CLAIM = "a reservation with a better claim needs its GPUs";

        /** A preemptible reservation's GPUs, for anyone with a better claim. */
        public Preemption(UUID reservationId, Instant endsAt) {
            this(reservationId, endsAt, BETTER_CLAIM);
        }
    }

    /**
     * What to do now and what to tell those who wait; {@code claimers}: the waiting reservations that went
     * ahead by their team's guaranteed GPUs (see {@link Guarantees}).
     */
    public record Plan(List<Admission> admissions, List<Waiting> waiting, List<Preemption> preemptions, java.util.Set<UUID> claimers) {
        public Plan {
            preemptions = preemptions == null ? List.of() : List.copyOf(preemptions);
            claimers = claimers == null ? java.util.Set.of() : java.util.Set.copyOf(claimers);
        }

        public Plan(List<Admission> admissions, List<Waiting> waiting, List<Preemption> preemptions) {
            this(admissions, waiting, preemptions, java.util.Set.of());
        }

        public Plan(List<Admission> admissions, List<Waiting> waiting) {
            this(admissions, waiting, List.of());
        }
    }

    /** How long before its end a preempted reservation is told (PREEMPTION_NOTICE, default 10 minutes). */
    public static final Duration DEFAULT_NOTICE = Duration.ofMinutes(10);

    private final Limits limits;
    private final Duration grace;
    private final Duration notice;

    public Scheduler() {
        this(Limits.none(), Duration.ZERO);
    }

    public Scheduler(Limits limits) {
        this(limits, Duration.ZERO);
    }

    /**
     * @param grace how long after its end a reservation keeps its GPUs (the processor expires it then):
     *              plans free GPUs at that moment, so estimates are not early by it
     */
    public Scheduler(Limits limits, Duration grace) {
        this(limits, grace, DEFAULT_NOTICE);
    }

    /** @param notice how long ahead a preempted reservation is told its end */
    public Scheduler(Limits limits, Duration grace, Duration notice) {
        this.limits = limits;
        this.grace = grace;
        this.notice = notice;
    }

    public Limits limits() {
        return limits;
    }

    public Plan plan(Snapshot snapshot, List<Reservation> queued, Instant now) {
        return new Planner(snapshot, queued, now, false).plan();
    }

    /**
     * A cycle kept for later arrivals. Reservations ahead are planned first and one behind them can only
     * use what they leave, so a pass whose only change is arrivals that go behind every planned one plans
     * just those on the kept timelines: the same answer as planning everything again, without re-reading
     * a deep queue.
     */
    public final class Planner {
        private final Cycle cycle;
        private final Plan first;
        private final boolean inGivenOrder;

        private Planner(Snapshot snapshot, List<Reservation> queued, Instant now, boolean inGivenOrder) {
            long at = now.toEpochMilli();
            var reclaim = Reclaim.of(snapshot, inGivenOrder ? queued : snapshot.fairShare().sorted(queued), at, notice.toMillis(), grace.toMillis());
            this.cycle = new Cycle(snapshot, at, limits.resolvedFor(snapshot.capacity()), grace.toMillis(), notice.toMillis(), reclaim.victims());
            this.inGivenOrder = inGivenOrder;
            Plan p = cycle.run(reclaim.order(), true);
            this.first = reclaim.claimers().isEmpty() ? p : new Plan(p.admissions(), p.waiting(), p.preemptions(), reclaim.claimers());
        }

        /** The plan of the reservations it was started with. */
        public Plan plan() {
            return first;
        }

        /** Plans reservations that go behind all planned so far (in the order given, for a planner started so). */
        public Plan append(List<Reservation> newer) {
            return cycle.run(newer, inGivenOrder);
        }

        /** Whether preemptible reservations hold GPUs others could claim: an arrival with a better claim is planned with everything again. */
        public boolean preemptibleHeld() {
            return cycle.preemptibleHeld();
        }

        /** Until when the plans hold: the first planned start of a waiting reservation (then it is due). */
        public Instant validUntil() {
            return Instant.ofEpochMilli(cycle.firstWaitingStart());
        }
    }

    public Planner start(Snapshot snapshot, List<Reservation> queued, Instant now) {
        return new Planner(snapshot, queued, now, false);
    }

    /** A planner over reservations in the order given (already in the snapshot's fair-share order). */
    public Planner startInOrder(Snapshot snapshot, List<Reservation> queued, Instant now) {
        return new Planner(snapshot, queued, now, true);
    }

    /** First come, first served: by creation, ties by id (the order arrivals are planned in). */
    public static java.util.Comparator<Reservation> fifo() {
        return Cycle.FIFO;
    }

    static long millis(java.math.BigDecimal hours) {
        return Extension.toDuration(hours).toMillis();
    }
}
