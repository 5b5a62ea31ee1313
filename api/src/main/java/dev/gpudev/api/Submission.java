package dev.gpudev.api;

import dev.gpudev.core.GpuCatalog;
import dev.gpudev.store.Notifications;
import java.time.Clock;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Feasibility;
import dev.gpudev.core.QueueLimits;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationRequest;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.StatusChange;
import dev.gpudev.store.CommandQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Submitting a reservation, without HTTP: the request's form, whether it can ever fit (the
 * scheduler's own rule, {@link Feasibility}), idempotency, and the row with its create command in one
 * statement. A dry run plans it against everything ahead of it instead of storing it.
 */
final class Submission {
    private static final Logger log = LoggerFactory.getLogger(Submission.class);
    /** An image built from an uploaded Dockerfile: "build:sha256:HEX" (the processor has it built first). */
    static final String BUILD = "build:";

    /** What was asked, checked for form by the caller of this service. */
    record Request(ReservationRequest request, Reservation.Options options, boolean jupyter, boolean keepWhenIdle,
                   String idempotencyKey, boolean dryRun) {
    }

    /** What came of it. */
    sealed interface Outcome {
        /** Stored, as written (no read back). */
        record Created(Reservation reservation) implements Outcome {
        }

        /** The same request with the same Idempotency-Key was stored before: that one. */
        record Repeated(Reservation reservation) implements Outcome {
        }

        /** A dry run: whether and when it would start. */
        record Estimate(Map<String, Object> estimate) implements Outcome {
        }
    }

    private final Database db;
    private final Reservations reservations;
    private final Disks disks;
    private final CommandQueue commands;
    private final GpuCatalog catalog;
    private final Clock clock;
    private final ApiConfig config;
    private final Notifications.Coalescer wakeUps;
    private final CapacityView capacity;
    private final TeamChoice teamChoice;
    private final dev.gpudev.store.Teams teams;

    Submission(Database db, Reservations reservations, Disks disks, CommandQueue commands, GpuCatalog catalog, Clock clock, ApiConfig config,
               Notifications.Coalescer wakeUps, CapacityView capacity, TeamChoice teamChoice, dev.gpudev.store.Teams teams) {
        this.teamChoice = teamChoice;
        this.teams = teams;
        this.db = db;
        this.reservations = reservations;
        this.disks = disks;
        this.commands = commands;
        this.catalog = catalog;
        this.clock = clock;
        this.config = config;
        this.wakeUps = wakeUps;
        this.capacity = capacity;
    }

    /** Where images may come from (--allowed-registries): a Dockerfile's FROM is checked against it too. */
    java.util.List<String> allowedRegistries() {
        return config.allowedRegistries();
    }

    private Scheduler.Limits limits() {
        return config.limits();
    }

    /**
     * @param audit the request's audit entry for the new reservation's id, written with it (one commit);
     *              null when the caller audits otherwise
     */
    Outcome submit(Caller who, Request req, java.util.function.Function<UUID, dev.gpudev.store.AuditLog.Entry> audit) {
        String adminOnly = config.adminOnly(capacity.traits());
        if (adminOnly != null && !who.admin()) {
            throw ApiError.forbidden(adminOnly);
        }
        Capacity cap = capacity.current();
        String choice = null;
        if (req.request().gpuType() != null && req.request().gpuType().contains(",")) {
            var chosen = chooseType(who, req, cap);
            req = new Request(chosen.request(), req.options(), req.jupyter(), req.keepWhenIdle(), req.idempotencyKey(), req.dryRun());
            choice = chosen.why();
        }
        // what may be asked: the nodes that exist and those elastic pools may start (a type at zero nodes is reservable)
        Capacity reach = capacity.reachable();
        ReservationRequest request = req.request().validate(catalog.including(reach),
                reach.nodes().stream().map(Capacity.Node::gpuType).distinct().sorted().toList());
        Reservation.Options checked = req.options().withDistributed(request.distributed()).validate();
        Reservation.Options options = inDisksZone(who, checked.withTeam(teamChoice.resolve(who, checked.team())));
        if (options.image() != null && !options.image().startsWith(BUILD)) {
            String refused = dev.gpudev.core.ImageRef.refused(options.image(), config.allowedRegistries());
            if (refused != null) {
                throw new ApiError(422, "image_not_allowed", refused);
            }
        }
        if (options.priority().adminOnly() && !who.admin()) {
            throw ApiError.forbidden("priority_class " + options.priority().wire() + " is for admins: use normal, or preemptible to run on idle GPUs now");
        }
        if (Feasibility.of(request.gpuType(), request.gpuCount(), request.distributed(), options.nodeLabels(), reach, limits())
                instanceof Feasibility.Verdict.Never never) {
            throw new ApiError(422, "unschedulable", never.message());
        }
        if (options.booked()) {
            checkBooking(who, request, options, cap);
        }
        if (req.dryRun()) {
            var estimate = dryRun(who, request, options, cap);
            if (choice != null) {
                estimate.put("gpu_type", request.gpuType());
                estimate.put("gpu_type_choice", choice);
            }
            return new Outcome.Estimate(estimate);
        }
        if (options.team() != null) {
            checkTeamCaps(options.team(), request);
        }
        int classCap = options.priority().maxWaitingPerUser();
        if (classCap > 0) {
            int waiting = db.query(c -> reservations.queue().waitingOfClass(c, who.userId(), options.priority().wire()));
            if (waiting >= classCap) {
                throw new ApiError(429, "too_many_waiting", "you have " + waiting + " " + options.priority().wire()
                        + " reservations waiting, the most one user may: wait for one to start, or cancel one (gpu-dev list)");
            }
        }
        String key = req.idempotencyKey();
        if (key != null) {
            var first = db.query(c -> reservations.findByIdempotencyKey(c, who.userId(), key));
            if (first.isPresent()) {
                return repeated(first.get(), request, options, req);
            }
        }
        Instant now = clock.instant();
        Reservation.JupyterAccess jupyter = req.jupyter() ? Reservation.JupyterAccess.fresh() : null;
        Reservation r = new Reservation(UUID.randomUUID(), who.userId(), who.username(), ReservationStatus.QUEUED, request.gpuType(),
                request.gpuCount(), request.durationHours().stripTrailingZeros(), request.name(), now, null, null, null, null,
                null, "queued: waiting for the scheduler", null,
                new Reservation.Lifecycle(List.of(), null, null, req.keepWhenIdle(), null, req.jupyter(), options, jupyter),
                List.of(new StatusChange(ReservationStatus.QUEUED, now, "submitted by " + who.username() + (choice == null ? "" : "; " + choice))));
        // The row, its command and the audit entry are one statement, in a transaction shared with the submits that
        // arrive with it (a group commit: one durable write for all of them, each answered after it), and a
        // transaction of its own when a named disk is recorded with it. The wake-up follows the commit.
        Reservation toWrite = r;
        var entry = audit == null ? null : audit.apply(r.id());
        QueueLimits queueLimits = config.queueLimits();
        var guard = new CommandQueue.WaitingGuard(queueLimits.maxWaiting(), queueLimits.gpuHoursFor(cap));
        CommandQueue.Submitted outcome;
        if (options.disk() == null) {
            outcome = db.inGroupCommit(c -> commands.submitted(c, reservations, toWrite, key, entry, guard));
        } else {
            Reservation[] withDisk = new Reservation[1];
            outcome = db.inTransaction(c -> {
                long diskId = disks.use(c, who.userId(), options.disk());
                withDisk[0] = withOptions(toWrite, options.withDiskId(diskId));
                return commands.submitted(c, reservations, withDisk[0], key, entry, guard);
            });
            r = withDisk[0];
        }
        if (outcome == CommandQueue.Submitted.OVER_WAITING_LIMITS) {
            throw new ApiError(429, "too_many_waiting", overLimits(who, request, cap));
        }
        if (outcome != CommandQueue.Submitted.WRITTEN) {
            // A unique index refused it: a submit with this Idempotency-Key got there first (return that one),
            // or a live reservation has the name.
            Optional<Reservation> first = key == null ? Optional.empty()
                    : db.query(c -> reservations.findByIdempotencyKey(c, who.userId(), key));
            if (first.isPresent()) {
                return repeated(first.get(), request, options, req);
            }
            throw new ApiError(409, "conflict", request.name() == null ? "a reservation with this Idempotency-Key conflicts: try again"
                    : "you already have a live reservation named '" + request.name() + "': pick another name or cancel that one");
        }
        wakeUps.request();
        // At debug: the audit log keeps every submit already; a line per submit is a formatted write per request at the peak.
        log.debug("user '{}' submitted reservation {} ({} x{})", who.username(), r.id(), r.gpuType(), r.gpuCount());
        return new Outcome.Created(r);
    }

    /**
     * A waiting reservation's new duration, checked as a submit would be (the range; its owner's waiting
     * GPU-hours when it grows), applied by the processor; what it means for its place, in words.
     */
    String resize(Caller who, Reservation r, java.math.BigDecimal hours) {
        if (r.status() != ReservationStatus.QUEUED) {
            throw new dev.gpudev.core.IllegalTransitionException("reservation " + r.id() + " is " + r.status().wire()
                    + ": only a waiting reservation's duration can be changed; extend a running one (gpu-dev edit --extend HOURS)");
        }
        Capacity cap = capacity.current();
        new ReservationRequest(r.gpuType(), r.gpuCount(), hours, null, r.options().distributed()).validate(catalog.including(cap),
                cap.nodes().stream().map(Capacity.Node::gpuType).distinct().sorted().toList());
        java.math.BigDecimal grows = hours.subtract(r.durationHours());
        if (grows.signum() > 0) {
            int limit = config.queueLimits().gpuHoursFor(cap);
            var waiting = db.query(c -> reservations.queue().waitingOf(c, who.userId()));
            java.math.BigDecimal more = grows.multiply(java.math.BigDecimal.valueOf(r.gpuCount()));
            if (limit > 0 && waiting.gpuHours().add(more).compareTo(java.math.BigDecimal.valueOf(limit)) > 0) {
                throw new ApiError(429, "too_many_waiting", "you have " + waiting.gpuHours().stripTrailingZeros().toPlainString()
                        + " GPU-hours waiting and this adds " + more.stripTrailingZeros().toPlainString() + "; one user may have at most "
                        + limit + " waiting");
            }
        }
        if (grows.signum() > 0 && r.options().team() != null) {
            checkTeamCaps(r.options().team(), new ReservationRequest(r.gpuType(), r.gpuCount(), grows, null, r.options().distributed()), false);
        }
        db.inTransaction(c -> commands.send(c, new dev.gpudev.core.Command.Resize(r.id(), who.username(), hours.stripTrailingZeros())));
        wakeUps.request();
        return grows.signum() > 0
                ? "it keeps its place in line; being longer, it may start later when the GPUs it waits for are planned for someone"
                + " after it (gpu-dev show gives its new estimate in a moment)"
                : "it keeps its place in line; it cannot start later for being shorter, and may start sooner";
    }

    /** Any-of types: the one chosen, and why in words. */
    private record Choice(ReservationRequest request, String why) {
    }

    /**
     * {@code gpu_type: "h100,a100"} (in order of preference): the type whose plan starts earliest, ties by
     * the order given; types that can never hold it are passed over. Chosen at submit, by the same dry run
     * as {@code dry_run} on one read of the queue (the reservation keeps that type while it waits).
     */
    private Choice chooseType(Caller who, Request req, Capacity cap) {
        List<String> types = java.util.Arrays.stream(req.request().gpuType().split(",")).map(String::trim).filter(t -> !t.isEmpty())
                .distinct().toList();
        if (types.size() < 2 || types.size() > 4) {
            throw ApiError.badRequest("gpu_type takes one type, or 2 to 4 in order of preference like h100,a100");
        }
        List<String> known = cap.nodes().stream().map(Capacity.Node::gpuType).distinct().sorted().toList();
        Reservation.Options checked = req.options().withDistributed(req.request().distributed()).validate();
        Reservation.Options options = inDisksZone(who, checked.withTeam(teamChoice.resolve(who, checked.team())));
        PlanBasis basis = planBasis(); // one read of the queue for every type tried
        ReservationRequest best = null;
        Instant bestStart = null;
        List<String> never = new ArrayList<>();
        List<String> named = new ArrayList<>();
        for (String t : types) {
            ReservationRequest r = new ReservationRequest(t, req.request().gpuCount(), req.request().durationHours(), req.request().name(),
                    req.request().distributed()).validate(catalog.including(cap), known);
            named.add(r.gpuType());
            if (Feasibility.of(r.gpuType(), r.gpuCount(), r.distributed(), options.nodeLabels(), cap, limits())
                    instanceof Feasibility.Verdict.Never n) {
                never.add(r.gpuType() + ": " + n.message());
                continue;
            }
            Object at = dryRun(who, r, options, cap, basis).get("estimated_start_at");
            Instant start = at instanceof Instant i ? i : null;
            if (start != null && (bestStart == null || start.isBefore(bestStart))) {
                best = r;
                bestStart = start;
            } else if (best == null && bestStart == null) {
                best = r;
            }
        }
        if (best == null) {
            throw new ApiError(422, "unschedulable", "none of " + String.join(", ", named) + " can hold it: " + String.join("; ", never));
        }
        String when = bestStart == null ? "no estimate yet" : !bestStart.isAfter(basis.now()) ? "it starts now" : "it starts earliest (~" + bestStart.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ")";
        return new Choice(best, best.gpuType() + " of " + String.join(",", named) + ": " + when);
    }

    /** A team's caps on what it may have waiting (an admin's; none by default). */
    private void checkTeamCaps(String team, ReservationRequest request) {
        checkTeamCaps(team, request, true);
    }

    /** @param oneMore whether the request adds a reservation (a resize adds only GPU-hours) */
    private void checkTeamCaps(String team, ReservationRequest request, boolean oneMore) {
        var t = teamChoice.team(team).orElse(null);
        if (t == null || t.maxWaiting() == 0 && t.maxWaitingGpuHours() == 0) {
            return;
        }
        var waiting = db.query(c -> teams.waiting(c, team));
        if (oneMore && t.maxWaiting() > 0 && waiting.reservations() >= t.maxWaiting()) {
            throw new ApiError(429, "too_many_waiting", "team " + team + " has " + waiting.reservations()
                    + " reservations waiting, the most it may: wait for one to start, or ask an admin");
        }
        var asked = request.durationHours().multiply(java.math.BigDecimal.valueOf(request.gpuCount()));
        if (t.maxWaitingGpuHours() > 0 && waiting.gpuHours().add(asked).compareTo(java.math.BigDecimal.valueOf(t.maxWaitingGpuHours())) > 0) {
            throw new ApiError(429, "too_many_waiting", "team " + team + " has " + waiting.gpuHours().stripTrailingZeros().toPlainString()
                    + " GPU-hours waiting and this asks for " + asked.stripTrailingZeros().toPlainString() + "; the team may have at most "
                    + t.maxWaitingGpuHours() + " waiting");
        }
    }

    /** Why this user may not add a waiting reservation now (the guard refused the row), in words. */
    private String overLimits(Caller who, ReservationRequest request, Capacity cap) {
        var waiting = db.query(c -> reservations.queue().waitingOf(c, who.userId()));
        String why = config.queueLimits().refusal(waiting.count(), waiting.gpuHours(), request.gpuCount(), request.durationHours(), cap);
        // (one started meanwhile: the limits were reached a moment ago)
        return why != null ? why : "you had as many reservations or GPU-hours waiting as one user may: try again, or cancel one (gpu-dev list)";
    }

    private static Reservation withOptions(Reservation r, Reservation.Options options) {
        var l = r.lifecycle();
        return new Reservation(r.id(), r.userId(), r.username(), r.status(), r.gpuType(), r.gpuCount(), r.durationHours(), r.name(),
                r.createdAt(), r.launchedAt(), r.expiresAt(), r.placement(), r.connection(), r.failureReason(), r.detailedStatus(), r.queue(),
                new Reservation.Lifecycle(l.warningsSent(), l.lastActiveAt(), l.idleWarnedAt(), l.idleOptOut(), l.statusChangedAt(),
                        l.jupyter(), options, l.jupyterAccess()), r.history());
    }

    /** A retry with the same key gets the first reservation; the same key with another request is a mistake, said so. */
    private static Outcome repeated(Reservation first, ReservationRequest request, Reservation.Options options, Request req) {
        boolean same = first.gpuType().equals(request.gpuType()) && first.gpuCount() == request.gpuCount()
                && first.durationHours().compareTo(request.durationHours()) == 0 && Objects.equals(first.name(), request.name())
                && Objects.equals(first.options().disk(), options.disk()) && first.options().scratch() == options.scratch()
                && Objects.equals(first.options().image(), options.image()) && first.options().nodeLabels().equals(options.nodeLabels())
                && first.options().distributed() == options.distributed() && first.lifecycle().idleOptOut() == req.keepWhenIdle()
                && first.options().priority().wire().equals(options.priority().wire()) && Objects.equals(first.options().startAt(), options.startAt())
                && Objects.equals(first.options().team(), options.team()) && first.options().env().equals(options.env())
                && Objects.equals(first.options().run(), options.run());
        if (!same) {
            throw new ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used for a different request"
                    + " (reservation " + first.id() + "): use a new key for a new request");
        }
        return new Outcome.Repeated(first);
    }

    /** Bookings furthest ahead. */
    static final java.time.Duration MAX_BOOKING_AHEAD = java.time.Duration.ofDays(7);

    /**
     * A booking is refused unless it is at least a minute and at most a week ahead, not preemptible, within
     * its user's cap, and its window can be honoured now (nothing held or booked there).
     */
    private void checkBooking(Caller who, ReservationRequest request, Reservation.Options options, Capacity cap) {
        Instant now = clock.instant();
        Instant at = options.startAt();
        if (at.isBefore(now.plusSeconds(60))) {
            throw ApiError.badRequest("start_at must be at least a minute ahead (leave it out to start as soon as possible)");
        }
        if (at.isAfter(now.plus(MAX_BOOKING_AHEAD))) {
            throw ApiError.badRequest("start_at may be at most 7 days ahead");
        }
        if (options.priority().preemptible()) {
            throw ApiError.badRequest("a booking cannot be preemptible: it keeps its window; leave out one or the other");
        }
        int cap0 = config.queueLimits().maxBookings();
        if (cap0 > 0) {
            int booked = db.query(c -> reservations.queue().bookingsOf(c, who.userId()));
            if (booked >= cap0) {
                throw new ApiError(429, "too_many_bookings", "you have " + booked + " bookings ahead, the most one user may: cancel one"
                        + " (gpu-dev list) or wait for one to start");
            }
        }
        Map<String, Object> plan = dryRun(who, request, options, cap);
        Object start = plan.get("estimated_start_at");
        if (!at.equals(start)) {
            throw new ApiError(409, "booking_unavailable", "this booking cannot be honoured: "
                    + (start == null ? "no node can hold it" : "its GPUs are held or booked until " + start + "; book from then, or fewer GPUs"));
        }
    }

    /** What would happen: when it would start, given everything ahead of it now. */
    private Map<String, Object> dryRun(Caller who, ReservationRequest request, Reservation.Options options, Capacity cap) {
        return dryRun(who, request, options, cap, planBasis());
    }

    /** What a dry run plans on: the holders, the queue and the standings now (read once for several dry runs). */
    private record PlanBasis(Instant now, List<Reservation> holding, List<Reservation> queued, dev.gpudev.core.FairShare standings) {
    }

    private PlanBasis planBasis() {
        Instant now = clock.instant();
        return new PlanBasis(now, db.query(c -> reservations.withStatus(c, false, ReservationStatus.PREPARING, ReservationStatus.ACTIVE)),
                db.query(c -> reservations.withStatus(c, false, ReservationStatus.QUEUED)),
                db.query(c -> new dev.gpudev.store.GpuHours().standings(c, config.fairShare(), now)));
    }

    private Map<String, Object> dryRun(Caller who, ReservationRequest request, Reservation.Options options, Capacity cap, PlanBasis b) {
        Instant now = b.now();
        var holding = b.holding();
        var queued = new ArrayList<>(b.queued());
        UUID probe = UUID.randomUUID();
        queued.add(new Reservation(probe, who.userId(), who.username(), ReservationStatus.QUEUED, request.gpuType(), request.gpuCount(),
                request.durationHours(), request.name(), now, null, null, null, null, null, null, null,
                new Reservation.Lifecycle(List.of(), null, null, false, null, false, options), List.of()));
        var standings = b.standings();
        var plan = new Scheduler(limits(), config.grace()).plan(new Scheduler.Snapshot(cap, holding, standings), queued, now);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("dry_run", true);
        out.put("valid", true);
        boolean startsNow = plan.admissions().stream().anyMatch(a -> a.reservationId().equals(probe));
        out.put("would_start_now", startsNow);
        var waiting = plan.waiting().stream().filter(w -> w.reservationId().equals(probe)).findFirst();
        out.put("queue_position", waiting.map(Scheduler.Waiting::position).orElse(null));
        out.put("estimated_start_at", startsNow ? now : waiting.map(Scheduler.Waiting::estimatedStart).orElse(null));
        out.put("pending_reason", waiting.map(w -> w.reason().name()).orElse(null));
        return out;
    }

    /**
     * A disk's volume lives in one availability zone (a zonal EBS volume, made where its first reservation ran):
     * a reservation that uses it is kept to nodes of that zone, as if it had asked for the zone's node label;
     * one that asks for another zone is refused, saying why.
     */
    private Reservation.Options inDisksZone(Caller who, Reservation.Options options) {
        if (options.disk() == null || options.scratch()) {
            return options;
        }
        var zone = db.query(c -> disks.zone(c, who.userId(), options.disk()));
        if (zone.isEmpty()) {
            return options;
        }
        String asked = options.nodeLabels().get(Reservation.Options.ZONE_LABEL);
        if (asked != null && !asked.equals(zone.get())) {
            throw ApiError.badRequest("disk " + options.disk() + " lives in zone " + zone.get() + " (its volume cannot move):"
                    + " node_labels asks for " + asked);
        }
        return options.withNodeLabel(Reservation.Options.ZONE_LABEL, zone.get());
    }
}
