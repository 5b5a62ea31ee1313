package dev.gpudev.processor;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The last plan, kept between scheduling passes, and the rule for what the next pass may reuse of it.
 * An arrival never changes the plans of those ahead of it in the fair-share order (they are planned
 * first); one that goes behind every kept reservation changes no plan but its own. So while nothing
 * else changed (same GPUs, same holders, no command but creates, no sweep, no other replica scheduling
 * in between, no planned start due) a pass plans only its arrivals on the kept timelines
 * ({@link Mode#ARRIVALS}), unless one goes ahead of kept ones: then everything is planned again from
 * memory ({@link Mode#INSERTED}). At least every {@link #FULL_PLAN_EVERY}, or when a planned start is due,
 * everything is planned again: from the kept queue while it is fresh ({@link Mode#FROM_MEMORY}),
 * otherwise read again ({@link Mode#FULL}).
 */
final class PlanCache {
    static final Duration FULL_PLAN_EVERY = Duration.ofSeconds(60);

    /**
     * What a pass planned: nothing, only arrivals, everything from the kept queue, everything read again;
     * or everything from the kept queue because arrivals went ahead of kept ones (fair share).
     */
    enum Mode { NONE, ARRIVALS, FROM_MEMORY, FULL, INSERTED }

    /** What a plan was made on: the nodes and what every holder has (not when it was last active). */
    record Basis(Capacity capacity, List<Held> holding) {
        static Basis of(Capacity capacity, List<Reservation> holders) {
            return new Basis(capacity, holders.stream().map(Held::of).toList());
        }
    }

    record Held(UUID id, ReservationStatus status, int gpus, BigDecimal hours, Instant launchedAt, Instant expiresAt, List<String> nodes,
                Long disk) {
        static Held of(Reservation r) {
            return new Held(r.id(), r.status(), r.gpuCount(), r.durationHours(), r.launchedAt(), r.expiresAt(),
                    r.placement() == null ? List.of() : r.placement().slices().stream().map(Reservation.Placement.Slice::node).toList(),
                    r.options().diskId());
        }
    }

    private final Scheduler scheduler;
    private Scheduler.Planner planner;
    private Basis basis;
    private Instant plannedAt;
    private long epoch = -1;
    private boolean replan = true;
    private boolean reorder;

    PlanCache(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    /** Something besides arrivals changed: the next pass plans everything. */
    void replan() {
        replan = true;
    }

    /** Only the order changed (arrivals planned behind everyone belong further ahead): the next pass plans everything from memory. */
    void reorder() {
        reorder = true;
    }

    /** The plan is no longer what the database holds (admissions, another replica, a failed pass). */
    void forget() {
        planner = null;
        basis = null;
        replan = true;
    }

    /** Whether the scheduler's epoch says no other replica scheduled since this one last did. */
    boolean followsOwnPass(long epoch) {
        return epoch == this.epoch + 1;
    }

    /** What this pass (the scheduler's epoch now) may reuse; the epoch is this cache's from now on. */
    Mode mode(long epoch, Basis now, Instant at, boolean queueFresh) {
        boolean unchanged = !replan && planner != null && followsOwnPass(epoch) && now.equals(basis) && !at.isBefore(plannedAt);
        this.epoch = epoch;
        if (unchanged && !reorder && at.isBefore(plannedAt.plus(FULL_PLAN_EVERY)) && at.isBefore(planner.validUntil())) {
            return Mode.ARRIVALS;
        }
        return unchanged && queueFresh ? Mode.FROM_MEMORY : Mode.FULL;
    }

    /** Whether the kept plan has preemptible holders whose GPUs an arrival with a better claim could take. */
    boolean preemptibleHeld() {
        return planner != null && planner.preemptibleHeld();
    }

    /** Arrivals planned on the kept timelines. */
    Scheduler.Plan append(List<Reservation> arrivals) {
        return planner.append(arrivals);
    }

    /** Everything planned again, on this basis; the plan kept from now on. */
    Scheduler.Plan planAll(Basis on, List<Reservation> holders, List<Reservation> queued, Instant at, dev.gpudev.core.FairShare standings) {
        planner = scheduler.startInOrder(new Scheduler.Snapshot(on.capacity(), holders, standings), queued, at);
        basis = on;
        plannedAt = at;
        replan = false;
        reorder = false;
        return planner.plan();
    }
}
