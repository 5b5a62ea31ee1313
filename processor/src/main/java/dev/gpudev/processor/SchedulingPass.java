package dev.gpudev.processor;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.FairShare;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.Transition;
import dev.gpudev.store.Database;
import dev.gpudev.store.GpuHours;
import dev.gpudev.store.ReservationQueue;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SchedulerState;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * A scheduling pass, in named phases (as Kueue's {@code schedule()}), in one transaction:
 * <ol>
 * <li><b>lock</b>: the scheduler's lock, so one replica decides at a time, and its epoch;
 * <li><b>holders</b>: what holds GPUs now, read again under the lock when another replica scheduled
 * since this one did (what it admitted may have committed after this cycle read its live rows);
 * <li><b>mode</b>: what the {@link PlanCache} may reuse (only arrivals, everything from the
 * {@link KeptQueue}, or everything read again);
 * <li><b>standings</b>: the users' fair-share standings ({@link FairShare}), computed again with every
 * pass that plans everything and at least a minute after the last (one aggregate query), and the kept
 * queue sorted by them;
 * <li><b>queue</b>: the waiting reservations that mode plans; arrivals that go ahead of kept ones turn
 * an arrivals pass into one that plans everything from memory ({@link PlanCache.Mode#INSERTED});
 * <li><b>plan</b>: the scheduler's plan;
 * <li><b>write</b>: admissions (compare-and-set from QUEUED: a cancel applied meanwhile wins); the
 * queue fields that changed, at most {@link KeptQueue#WRITES_PER_PASS} rows (the rest on the next passes),
 * go to the {@link QueueWriter}, which writes them off the loop.
 * </ol>
 * A pass returns its {@link Stats}; while nothing but arrivals happened its database work does not
 * grow with the depth of the queue.
 */
final class SchedulingPass {
    /** What a pass did, for the processor's counts and its slow-cycle log. */
    record Stats(PlanCache.Mode mode, int planned, long readMs, long planMs, int written, long writeMs, int admitted) {
        static final Stats NONE = new Stats(PlanCache.Mode.NONE, 0, 0, 0, 0, 0, 0);

        @Override
        public String toString() {
            return mode == PlanCache.Mode.NONE ? "nothing planned"
                    : mode.name().toLowerCase().replace('_', ' ') + ": " + planned + " planned, read " + readMs + " ms, plan " + planMs
                    + " ms, write " + written + " rows in " + writeMs + " ms";
        }
    }

    private final Database db;
    private final Reservations reservations;
    private final SchedulerState schedulerState;
    private final GpuHours gpuHours;
    private final FairShare.Policy policy;
    private final Clock clock;
    private final PlanCache cache;
    private final KeptQueue queue;
    private final Set<UUID> arrivals = new LinkedHashSet<>();
    private FairShare standings = FairShare.none();
    private Instant standingsAt;
    /** At most one plan of everything for arrivals that go ahead of kept ones per this (their CPU, not the database's). */
    static final java.time.Duration INSERT_EVERY = java.time.Duration.ofSeconds(5);
    private Instant insertedAt;
    /** When arrivals planned behind everyone are to be planned where they go. */
    private Instant insertDue;
    private final BackendCalls calls;

    SchedulingPass(Database db, Reservations reservations, SchedulerState schedulerState, GpuHours gpuHours, FairShare.Policy policy,
                   Clock clock, Scheduler scheduler, BackendCalls calls) {
        this.db = db;
        this.calls = calls;
        this.reservations = reservations;
        this.schedulerState = schedulerState;
        this.gpuHours = gpuHours;
        this.policy = policy;
        this.clock = clock;
        this.cache = new PlanCache(scheduler);
        this.queue = new KeptQueue(reservations);
        this.writer = new QueueWriter(db, reservations, calls == null || calls.inline());
    }

    /** The queue's positions and estimates, written off the loop. */
    private final QueueWriter writer;

    /** Rows of the queue handed to the writer and not yet written. */
    int queueBacklog() {
        return writer.backlog();
    }

    void close() {
        writer.close();
    }

    /** The standings the last pass planned by. */
    FairShare standings() {
        return standings;
    }

    /** Reservations submitted since the last pass (their creates applied). */
    void arrived(Collection<UUID> ids) {
        arrivals.addAll(ids);
    }

    /** Something besides arrivals changed: the next pass plans everything. */
    void replan() {
        cache.replan();
    }

    private void forget() {
        cache.forget();
        queue.drop();
    }

    private List<Reservation> placeholders = List.of();

    /** One pass on these nodes, some of them starting (held whole by these placeholders until expected). */
    Stats run(LiveSet live, Capacity capacity, List<Reservation> starting) {
        placeholders = starting;
        return run(live, capacity);
    }

    /** One pass; what it admitted joins the live set. */
    Stats run(LiveSet live, Capacity capacity) {
        Set<UUID> news = new LinkedHashSet<>(arrivals);
        arrivals.clear();
        try {
            var stats = new Stats[1];
            List<Reservation> preempted = new ArrayList<>();
            List<Reservation> admitted = db.inTransaction(c -> {
                List<Reservation> out = new ArrayList<>();
                preempted.clear();
                stats[0] = pass(c, live, capacity, news, out, preempted);
                return out;
            });
            admitted.forEach(live::put);
            preempted.forEach(this::tell);
            return stats[0];
        } catch (RuntimeException e) {
            forget();
            throw e;
        }
    }

    private Stats pass(Connection c, LiveSet live, Capacity capacity, Set<UUID> news, List<Reservation> admitted, List<Reservation> preempted)
            throws SQLException {
        // lock
        if (!schedulerState.tryLock(c)) {
            forget(); // another replica is scheduling now, with rows this one has not seen
            return Stats.NONE;
        }
        long epoch = schedulerState.nextEpoch(c);
        // holders
        if (!cache.followsOwnPass(epoch)) {
            live.replaceAll(reservations.withStatus(c, false, LiveSet.states()));
        }
        List<Reservation> holding = live.all();
        if (!placeholders.isEmpty()) {
            holding = new ArrayList<>(holding);
            holding.addAll(placeholders); // nodes asked for that do not exist yet, held until they are expected
        }
        Instant now = clock.instant();
        var basis = PlanCache.Basis.of(capacity, holding);
        // mode
        if (insertDue != null && !now.isBefore(insertDue)) {
            cache.reorder(); // arrivals planned behind everyone a moment ago go where they belong now
            insertDue = null;
        }
        PlanCache.Mode mode = cache.mode(epoch, basis, now, queue.fresh(now));
        if (mode == PlanCache.Mode.ARRIVALS && policy.weightHours() > 0 && standingsDue(now)) {
            mode = queue.fresh(now) ? PlanCache.Mode.FROM_MEMORY : PlanCache.Mode.FULL; // the standings are due: everything in their order
        }
        // standings, queue
        long t0 = System.nanoTime();
        List<Reservation> queued;
        boolean onlyArrivals = false;
        switch (mode) {
            case ARRIVALS -> {
                queued = queue.arrivals(c, news);
                boolean mayPreempt = cache.preemptibleHeld() && queued.stream().anyMatch(r -> !r.options().priority().preemptible())
                        || queued.stream().anyMatch(standings.guarantees()::claims); // a team's guarantee goes ahead, and may take GPUs back
                boolean goAhead = !queue.behindAll(queued) || mayPreempt;
                if (goAhead && (insertedAt == null || !now.isBefore(insertedAt.plus(INSERT_EVERY)))) {
                    mode = PlanCache.Mode.INSERTED; // planned again from where they go: everything, from memory
                    queued = queue.keptWith(queue.sorted(queued));
                    insertedAt = now;
                    insertDue = null;
                } else {
                    if (goAhead) {
                        // Under a stream of arrivals that go ahead, at most one plan of everything per INSERT_EVERY: until
                        // then these are planned behind everyone (an estimate that can only improve), then where they go.
                        insertDue = insertedAt.plus(INSERT_EVERY);
                    }
                    onlyArrivals = true;
                }
            }
            case FROM_MEMORY -> {
                queued = queue.keptWith(queue.sorted(queue.arrivals(c, news)));
                insertDue = null;
                if (standingsDue(now)) {
                    queued = standings(c, now);
                }
            }
            default -> {
                queue.readAll(c, now);
                queued = standings(c, now);
            }
        }
        if (onlyArrivals && queued.isEmpty()) {
            if (queue.unwritten() == 0) {
                return Stats.NONE;
            }
            long w0 = System.nanoTime();
            int written = write(c);
            return new Stats(mode, 0, 0, 0, written, (System.nanoTime() - w0) / 1_000_000, 0);
        }
        // plan
        long t1 = System.nanoTime();
        Scheduler.Plan plan;
        if (onlyArrivals) {
            plan = cache.append(queued);
            queue.add(queued);
        } else {
            plan = cache.planAll(basis, holding, queued, now, standings);
        }
        // write
        long t2 = System.nanoTime();
        for (var admission : plan.admissions()) {
            reservations.transition(c, admission.reservationId(), ReservationStatus.QUEUED, Transition.admit(admission.placement()), now)
                    .ifPresent(admitted::add);
        }
        for (var p : plan.preemptions()) {
            reservations.preempt(c, p.reservationId(), p.endsAt(), now, "preempted: " + p.reason() + ";"
                    + " it ends at " + p.endsAt() + " (the home is kept)").ifPresent(preempted::add);
        }
        queue.plan(plan, queued, onlyArrivals);
        int written = write(c);
        long t3 = System.nanoTime();
        if (!admitted.isEmpty() || !preempted.isEmpty()) {
            forget(); // the holders change: the next pass plans on them
        }
        return new Stats(mode, queued.size(), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, written + admitted.size(),
                (t3 - t2) / 1_000_000, admitted.size());
    }

    /** A preempted reservation's users are told, in the home and on open terminals, off the loop. */
    private void tell(Reservation r) {
        String message = r.options().priority().preemptible()
                ? "gpudev: this preemptible environment ends at " + r.expiresAt() + ": a reservation with a better claim needs"
                + " its GPUs. Save your work; your home is kept. Reserve again (gpu-dev reserve --preemptible) to continue when GPUs are idle."
                : "gpudev: this environment ends at " + r.expiresAt() + ": it runs on GPUs guaranteed to another team, which needs them now."
                + " Save your work; your home is kept. Reserve again (gpu-dev reserve) to continue; gpu-dev teams shows the guarantees.";
        for (String name : r.environmentNames()) {
            calls.submit(new BackendCall.Notify(name, Notices.PREEMPTED, message));
        }
    }

    /** Whether the standings are a minute old (or never computed): the next plan of everything computes them again. */
    private boolean standingsDue(Instant now) {
        return standingsAt == null || !now.isBefore(standingsAt.plus(PlanCache.FULL_PLAN_EVERY));
    }

    /** The next queue rows that changed, handed to the writer (written at once when inline); how many. */
    private int write(Connection c) throws SQLException {
        List<ReservationQueue.Waiting> batch = queue.toWrite();
        writer.write(c, batch);
        queue.written(batch);
        return batch.size();
    }

    /**
     * The users' standings computed again (those with usage, and those waiting), and the kept queue in
     * their order; with no weight, first come, first served and no query.
     */
    private List<Reservation> standings(Connection c, Instant now) throws SQLException {
        Set<FairShare.Charge> competing = new java.util.HashSet<>();
        if (policy.weightHours() > 0) {
            queue.kept().forEach(r -> competing.add(new FairShare.Charge(r.userId(), r.options().team())));
        }
        standings = gpuHours.standings(c, policy, now, competing);
        if (policy.weightHours() > 0) {
            queue.order(standings);
        }
        standingsAt = now;
        return new ArrayList<>(queue.kept());
    }
}
