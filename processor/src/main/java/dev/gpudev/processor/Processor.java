package dev.gpudev.processor;

import dev.gpudev.core.Extension;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.ValidationException;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Notifications;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The job processor: applies queued commands, ends what is over, runs a scheduling cycle, and
 * converges the backend to the rows. Wakes on NOTIFY within milliseconds; polls as a fallback.
 * Several replicas may run: commands are leased (SKIP LOCKED), scheduling takes an advisory lock.
 */
public final class Processor implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Processor.class);
    /** A command that failed this many times goes to the archive (dead letter). */
    static final int MAX_DELIVERIES = 3;
    private static final long SCHEDULER_LOCK = 0x67707564L;

    /** The processor's collaborators, grouped so the constructor stays short. */
    public record Parts(Database db, Pgmq pgmq, CommandQueue commands, Reservations reservations, SshKeys sshKeys,
                        dev.gpudev.store.Users users, Backend backend, Clock clock) {
    }

    private final Parts p;
    private final ProcessorSettings settings;
    private final Scheduler scheduler;
    private final Sweeper sweeper;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Notifications.Listener listener;
    private Thread thread;

    public Processor(Parts parts, ProcessorSettings settings) {
        this.p = parts;
        this.settings = settings;
        this.scheduler = new Scheduler(settings.limits());
        this.sweeper = new Sweeper(parts, settings);
        this.listener = new Notifications.Listener(parts.db());
    }

    public synchronized void start() {
        thread = Thread.ofPlatform().name("processor").daemon().start(this);
    }

    /**
     * Wake-ups closer together than this are served by one cycle: a burst of submits is one pass, not
     * hundreds. The gap grows with the cost of a cycle (twice its time, at most a second), so a deep
     * queue never takes more than a third of the processor's machine.
     */
    private static final long MIN_CYCLE_GAP_MS = 50;

    @Override
    public void run() {
        while (running.get()) {
            long started = System.nanoTime();
            try {
                cycle();
            } catch (RuntimeException e) {
                log.error("processor cycle failed; retrying after the poll interval", e);
            }
            if (running.get()) {
                long spentMs = (System.nanoTime() - started) / 1_000_000;
                long gap = Math.min(1000, Math.max(MIN_CYCLE_GAP_MS, 3 * spentMs));
                if (spentMs < gap) {
                    try {
                        Thread.sleep(gap - spentMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                listener.await((int) settings.pollInterval().toMillis());
            }
        }
        listener.close();
    }

    /** One full pass; public so tests can drive the processor step by step. */
    public void cycle() {
        long t0 = System.nanoTime();
        applyCommands();
        long t1 = System.nanoTime();
        if (sweeper.sweep()) {
            replan = true;
        }
        long t2 = System.nanoTime();
        long full = fullPlans;
        lastSchedule = "";
        schedule();
        long t3 = System.nanoTime();
        reconcile();
        long t4 = System.nanoTime();
        if (t4 - t0 > SLOW_CYCLE_NANOS) {
            log.info("slow processor cycle: {} ms (commands {} ms, sweep {} ms, {} {} ms [{}], reconcile {} ms)", (t4 - t0) / 1_000_000,
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, fullPlans > full ? "full plan" : "scheduling", (t3 - t2) / 1_000_000,
                    lastSchedule, (t4 - t3) / 1_000_000);
        }
    }

    private static final long SLOW_CYCLE_NANOS = 100_000_000;

    void applyCommands() {
        for (int round = 0; round < 20; round++) {
            List<Pgmq.Message> batch = p.db().query(c -> p.pgmq().read(c, p.commands().queue(),
                    (int) settings.lease().toSeconds(), 100));
            if (batch.isEmpty()) {
                return;
            }
            // A create needs nothing but its removal (the row came with it): one statement for all of them,
            // and the ids are this cycle's arrivals. Every other command changes something the plan used.
            List<Long> creates = new ArrayList<>();
            List<UUID> created = new ArrayList<>();
            for (Pgmq.Message m : batch) {
                CommandQueue.Command cmd = parsedOrNull(m);
                if (cmd != null && cmd.type() == CommandQueue.Type.create) {
                    creates.add(m.msgId());
                    created.add(cmd.reservationId());
                } else {
                    replan = true;
                    apply(m);
                }
            }
            arrivals.addAll(created);
            if (!creates.isEmpty()) {
                try {
                    p.db().query(c -> p.pgmq().delete(c, p.commands().queue(), creates));
                } catch (RuntimeException e) {
                    log.warn("could not remove {} create commands (they come back after their lease): {}", creates.size(), e.getMessage());
                }
            }
        }
    }

    private static CommandQueue.Command parsedOrNull(Pgmq.Message m) {
        try {
            return CommandQueue.parse(m.message());
        } catch (RuntimeException e) {
            return null; // apply() records the failure and dead-letters it in the end
        }
    }

    private void apply(Pgmq.Message m) {
        try {
            p.db().inTransaction(c -> {
                CommandQueue.Command cmd = CommandQueue.parse(m.message());
                switch (cmd.type()) {
                    case create -> {
                        // Never here: applyCommands removes creates in bulk and hands their ids to scheduling.
                    }
                    case cancel -> cancel(c, cmd);
                    case extend -> extend(c, cmd);
                    case add_user -> addUser(c, cmd);
                    case jupyter_enable, jupyter_disable -> jupyter(c, cmd, cmd.type() == CommandQueue.Type.jupyter_enable);
                    case delete_disk -> deleteDisk(cmd);
                    case disk_op -> diskOperation(c, cmd);
                }
                p.pgmq().delete(c, p.commands().queue(), m.msgId());
                return null;
            });
        } catch (RuntimeException e) {
            if (m.readCt() >= MAX_DELIVERIES) {
                deadLetter(m, e);
            } else {
                log.warn("command {} failed (delivery {}), will retry: {}", m.msgId(), m.readCt(), e.getMessage());
            }
        }
    }

    private void cancel(Connection c, CommandQueue.Command cmd) throws SQLException {
        var current = p.reservations().lock(c, cmd.reservationId());
        if (current.isEmpty() || current.get().status().isTerminal()) {
            return; // already ended: cancelling twice is a no-op
        }
        String by = cmd.requestedBy() == null ? "owner" : cmd.requestedBy();
        p.reservations().transition(c, current.get(), ReservationStatus.CANCELLED, "cancelled by " + by,
                p.clock().instant(), Map.of("current_detailed_status", "cancelled"));
    }

    /** Extends in place; a refusal (too long, already over) is recorded in the history, not retried. */
    private void extend(Connection c, CommandQueue.Command cmd) throws SQLException {
        var current = p.reservations().lock(c, cmd.reservationId());
        if (current.isEmpty()) {
            return;
        }
        Reservation r = current.get();
        Instant now = p.clock().instant();
        try {
            var total = Extension.newDuration(r, cmd.extensionHours(), now);
            Map<String, Object> set = new HashMap<>();
            set.put("duration_hours", total);
            set.put("warnings_sent", List.of());
            String until = "";
            if (r.launchedAt() != null) {
                Instant end = r.launchedAt().plus(Extension.toDuration(total));
                set.put("expires_at", end);
                until = " (now until " + DateTimeFormatter.ISO_INSTANT.format(end) + ")";
            }
            p.reservations().note(c, r, "extended by " + cmd.extensionHours().stripTrailingZeros().toPlainString()
                    + " h by " + cmd.requestedBy() + until, now, set);
            clearWarnings(r);
        } catch (ValidationException | IllegalTransitionException refused) {
            p.reservations().note(c, r, "extension refused: " + refused.getMessage(), now, Map.of());
        }
    }

    private void addUser(Connection c, CommandQueue.Command cmd) throws SQLException {
        var current = p.reservations().lock(c, cmd.reservationId());
        if (current.isEmpty() || current.get().status().isTerminal()) {
            return;
        }
        var user = p.users().findByName(c, cmd.username());
        Instant now = p.clock().instant();
        if (user.isEmpty()) {
            p.reservations().note(c, current.get(), "adding user refused: no user '" + cmd.username() + "'", now, Map.of());
            return;
        }
        var by = p.users().findByName(c, cmd.requestedBy());
        if (p.reservations().addUser(c, current.get().id(), user.get().userId(), by.map(u -> u.userId()).orElse(current.get().userId()))) {
            p.reservations().note(c, current.get(), "user " + cmd.username() + " added by " + cmd.requestedBy(), now, Map.of());
        }
    }

    private void jupyter(Connection c, CommandQueue.Command cmd, boolean on) throws SQLException {
        var current = p.reservations().lock(c, cmd.reservationId());
        if (current.isEmpty() || current.get().status().isTerminal() || current.get().lifecycle().jupyter() == on) {
            return;
        }
        p.reservations().note(c, current.get(), "jupyter " + (on ? "enabled" : "disabled") + " by " + cmd.requestedBy(),
                p.clock().instant(), Map.of("jupyter_enabled", on));
    }

    /** The row is gone already (the API removed it with the command); the files go here. */
    private void deleteDisk(CommandQueue.Command cmd) {
        try {
            p.backend().deleteDisk(cmd.requestedBy(), cmd.username());
        } catch (Exception e) {
            throw new IllegalStateException("could not delete disk " + cmd.username() + " of " + cmd.requestedBy() + ": " + e.getMessage(), e);
        }
    }

    /** Entries of a disk listing at most (the total size counts every file). */
    static final int LISTING_LIMIT = 1000;
    private final dev.gpudev.store.Disks disks = new dev.gpudev.store.Disks();

    /** A refusal of a disk operation: recorded as its outcome, not retried. */
    private static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * A rename or a listing of a disk, carried out here, where the files are; the outcome goes to the
     * operation's row. Database failures roll back and the command comes again (the file steps are
     * idempotent); refusals and file errors are the outcome.
     */
    private void diskOperation(Connection c, CommandQueue.Command cmd) throws SQLException {
        var op = cmd.operationId() == null ? null : disks.operation(c, null, cmd.operationId()).orElse(null);
        if (op == null || !op.status().equals("pending")) {
            return; // unknown, or done already (a redelivered command)
        }
        String result;
        try {
            result = switch (op.operation()) {
                case "list_content" -> {
                    var listing = p.backend().listDisk(op.username(), op.disk(), LISTING_LIMIT);
                    Map<String, Object> out = new java.util.LinkedHashMap<>();
                    out.put("entries", listing.entries().stream().map(e -> Map.of("path", e.path(), "size", e.size(),
                            "directory", e.directory(), "modified", e.modified().toString())).toList());
                    out.put("truncated", listing.truncated());
                    out.put("total_bytes", listing.totalBytes());
                    yield dev.gpudev.store.Json.write(out);
                }
                case "rename" -> renameDisk(c, op);
                default -> throw new Refused("unknown disk operation " + op.operation());
            };
        } catch (SQLException e) {
            throw e;
        } catch (Exception e) {
            log.info("disk operation {} ({} of {}) refused or failed: {}", op.id(), op.operation(), op.disk(), e.getMessage());
            disks.finish(c, op.id(), false, null, e.getMessage());
            return;
        }
        disks.finish(c, op.id(), true, result, null);
    }

    private String renameDisk(Connection c, dev.gpudev.store.Disks.Operation op) throws Exception {
        // Never while a scheduling pass runs: it could admit a reservation of this disk meanwhile.
        try (var st = c.prepareStatement("select pg_advisory_xact_lock(?)")) {
            st.setLong(1, SCHEDULER_LOCK);
            st.execute();
        }
        String from = op.disk();
        String to = op.argument();
        if (!disks.lockIfExists(c, op.userId(), from)) {
            throw new Refused("you have no disk " + from + " any more");
        }
        if (disks.wanted(c, op.userId(), from)) {
            throw new Refused("disk " + from + " is used by a live or waiting reservation: cancel it first");
        }
        if (disks.lockIfExists(c, op.userId(), to)) {
            throw new Refused("you have a disk named " + to + " already");
        }
        p.backend().renameDisk(op.username(), from, to);
        disks.rename(c, op.userId(), from, to);
        log.info("disk {} of {} renamed to {}", from, op.username(), to);
        return dev.gpudev.store.Json.write(Map.of("name", to, "previous_name", from));
    }

    private void clearWarnings(Reservation r) {
        if (r.status() == ReservationStatus.ACTIVE) {
            try {
                p.backend().notify(r.environmentName(), null, null, "WARN_EXPIRES_IN_");
            } catch (Exception e) {
                log.warn("could not clear expiry warnings of {}: {}", r.environmentName(), e.getMessage());
            }
        }
    }

    private void deadLetter(Pgmq.Message m, RuntimeException e) {
        log.error("command {} failed {} times; archived: {}", m.msgId(), m.readCt(), e.getMessage());
        p.db().inTransaction(c -> {
            p.pgmq().archive(c, p.commands().queue(), m.msgId());
            // Read leniently: the command may be poison precisely because it does not parse.
            var id = CommandQueue.reservationIdOf(m.message());
            var r = id.isEmpty() ? java.util.Optional.<Reservation>empty() : p.reservations().lock(c, id.get());
            if (r.isPresent() && !r.get().status().isTerminal()) {
                p.reservations().transition(c, r.get(), ReservationStatus.FAILED,
                        "command failed " + m.readCt() + " times: " + e.getMessage(), p.clock().instant(),
                        Map.of("failure_reason", "internal error applying a command: " + e.getMessage()));
            }
            return null;
        });
    }

    /**
     * The last plan, kept between cycles. A new arrival never changes the plans of those before it
     * (they are planned first), so while nothing else changed (same GPUs, same holders, no command but
     * creates, no sweep, no other replica scheduling, no planned start due) a cycle plans only its new
     * arrivals on the kept timelines instead of re-reading and re-planning the whole queue. Any other
     * change, and at least every {@link #FULL_PLAN_EVERY}, plans everything again.
     */
    private Scheduler.Planner planner;
    private Basis plannedBasis;
    private Instant plannedAt;
    private long plannedEpoch = -1;
    private final Set<UUID> arrivals = new LinkedHashSet<>();
    private boolean replan = true;
    static final java.time.Duration FULL_PLAN_EVERY = java.time.Duration.ofSeconds(60);
    private long fullPlans;
    private long incrementalPlans;
    /** The last scheduling pass: how many it planned, and its reading, planning and writing times (ms), for the slow-cycle log. */
    private String lastSchedule = "";

    /** What a plan was made on: the nodes and what every holder has (not when it was last active). */
    private record Basis(dev.gpudev.core.Capacity capacity, List<Held> holding) {
    }

    private record Held(UUID id, ReservationStatus status, int gpus, java.math.BigDecimal hours, Instant launchedAt,
                        Instant expiresAt, Reservation.Placement placement, String disk) {
        static Held of(Reservation r) {
            return new Held(r.id(), r.status(), r.gpuCount(), r.durationHours(), r.launchedAt(), r.expiresAt(), r.placement(),
                    r.options().disk());
        }
    }

    /** Cycles that planned the whole queue, and cycles that planned only new arrivals (for tests and logs). */
    public long[] planCounts() {
        return new long[]{fullPlans, incrementalPlans};
    }

    /** A scheduling cycle under an advisory lock: one replica decides at a time, on one snapshot. */
    void schedule() {
        var capacity = p.backend().capacity();
        Set<UUID> news = new LinkedHashSet<>(arrivals);
        arrivals.clear();
        try {
            p.db().inTransaction(c -> {
                try (var st = c.prepareStatement("select pg_try_advisory_xact_lock(?)")) {
                    st.setLong(1, SCHEDULER_LOCK);
                    try (var rs = st.executeQuery()) {
                        rs.next();
                        if (!rs.getBoolean(1)) {
                            forget(); // another replica is scheduling now, with rows this one has not seen
                            return null;
                        }
                    }
                }
                long epoch;
                try (var st = c.prepareStatement("update scheduler_state set epoch = epoch + 1 returning epoch");
                     var rs = st.executeQuery()) {
                    rs.next();
                    epoch = rs.getLong(1);
                }
                List<Reservation> holding = p.reservations().withStatus(c, false, ReservationStatus.PREPARING, ReservationStatus.ACTIVE);
                Instant now = p.clock().instant();
                Basis basis = new Basis(capacity, holding.stream().map(Held::of).toList());
                boolean incremental = !replan && planner != null && epoch == plannedEpoch + 1 && basis.equals(plannedBasis)
                        && !now.isBefore(plannedAt) && now.isBefore(plannedAt.plus(FULL_PLAN_EVERY)) && now.isBefore(planner.validUntil());
                plannedEpoch = epoch;
                List<Reservation> queued;
                Scheduler.Plan plan;
                long r0 = System.nanoTime();
                long r1;
                if (incremental) {
                    queued = p.reservations().queuedAmong(c, news);
                    if (queued.isEmpty()) {
                        return null;
                    }
                    r1 = System.nanoTime();
                    plan = planner.append(queued);
                    incrementalPlans++;
                } else {
                    forget();
                    queued = p.reservations().withStatus(c, false, ReservationStatus.QUEUED);
                    r1 = System.nanoTime();
                    planner = scheduler.start(new Scheduler.Snapshot(capacity, holding), queued, now);
                    plan = planner.plan();
                    plannedBasis = basis;
                    plannedAt = now;
                    replan = false;
                    fullPlans++;
                }
                long r2 = System.nanoTime();
                write(c, plan, queued, now);
                lastSchedule = queued.size() + " planned: read " + (r1 - r0) / 1_000_000 + " ms, plan " + (r2 - r1) / 1_000_000
                        + " ms, write " + (System.nanoTime() - r2) / 1_000_000 + " ms";
                if (!plan.admissions().isEmpty()) {
                    forget(); // the holders change: the next cycle plans on them
                }
                return null;
            });
        } catch (RuntimeException e) {
            forget();
            throw e;
        }
    }

    private void forget() {
        planner = null;
        plannedBasis = null;
        replan = true;
    }

    private void write(Connection c, Scheduler.Plan plan, List<Reservation> queued, Instant now) throws SQLException {
        for (var admission : plan.admissions()) {
            var r = p.reservations().lock(c, admission.reservationId()).orElseThrow();
            Map<String, Object> set = new HashMap<>(Reservations.placementColumns(admission.placement()));
            set.put("queue_position", null);
            set.put("pending_reason", null);
            set.put("estimated_start_at", null);
            set.put("current_detailed_status", "creating environment");
            String where = admission.placement().slices().stream().map(sl -> sl.node() + " GPUs " + sl.gpus())
                    .collect(java.util.stream.Collectors.joining(", "));
            p.reservations().transition(c, r, ReservationStatus.PREPARING, "admitted on " + where, now, set);
        }
        Map<UUID, Reservation> byId = new HashMap<>();
        queued.forEach(q -> byId.put(q.id(), q));
        List<Reservations.Waiting> changed = new ArrayList<>();
        for (var w : plan.waiting()) {
            Reservation before = byId.get(w.reservationId());
            var queue = new Reservation.Queue(w.position(), w.reason().name(), w.estimatedStart());
            if (before != null && queue.equals(before.queue())) {
                continue; // unchanged: in a deep queue most are
            }
            String detail = switch (w.reason()) {
                case WAITING_FOR_CAPACITY -> "waiting for GPUs, position " + w.position()
                        + ", expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
                case USER_GPU_LIMIT -> "waiting: you hold your GPU limit"
                        + (w.estimatedStart() == null ? "" : "; expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart()));
                case WAITING_FOR_DISK -> "waiting for disk " + (before == null ? "" : before.options().disk())
                        + " (in use by another reservation of yours); expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
                case NO_CAPACITY_OF_TYPE -> "no node of this GPU type (with the labels asked for) can hold it";
            };
            changed.add(new Reservations.Waiting(w.reservationId(), queue, detail));
        }
        p.reservations().setWaiting(c, changed);
    }

    /** Level-triggered: make the backend match the rows, whatever happened before. */
    void reconcile() {
        // List the backend before reading the rows: an environment another replica creates meanwhile
        // belongs to a row already committed as live, so it is never mistaken for an orphan.
        Set<String> existing = p.backend().environments();
        List<Reservation> live = p.db().query(c -> p.reservations().withStatus(c, false, ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        Set<String> wanted = new HashSet<>();
        Map<UUID, List<String>> keys = live.isEmpty() ? Map.of()
                : p.db().query(c -> p.sshKeys().forReservations(c, live.stream().map(Reservation::id).toList()));
        for (Reservation r : live) {
            for (int rank = 0; rank < r.nodeCount(); rank++) {
                wanted.add(r.environmentName(rank));
            }
            ensure(r, keys.getOrDefault(r.id(), List.of()));
        }
        for (String name : existing) {
            if (!wanted.contains(name)) {
                try {
                    p.backend().destroy(name);
                    log.info("removed environment {}: no live reservation owns it", name);
                } catch (Exception e) {
                    log.warn("could not remove environment {}: {}", name, e.getMessage());
                }
            }
        }
    }

    /** Makes sure every node's environment of a live reservation runs; activates it once all do. */
    private void ensure(Reservation r, List<String> keys) {
        try {
            List<Reservation.Placement.Slice> slices = r.placement() == null
                    ? List.of(new Reservation.Placement.Slice("", List.of(), null, null)) : r.placement().slices();
            List<Backend.Environment> envs = new java.util.ArrayList<>();
            String masterAddr = null;
            for (int rank = 0; rank < slices.size(); rank++) {
                var slice = slices.get(rank);
                Map<String, String> extra = new java.util.LinkedHashMap<>();
                if (slices.size() > 1) {
                    // torch.distributed: every node knows node 0 (its address is known once node 0 runs).
                    extra.put("MASTER_ADDR", masterAddr == null ? "127.0.0.1" : masterAddr);
                    extra.put("MASTER_PORT", "29500");
                    extra.put("WORLD_SIZE", Integer.toString(slices.size()));
                    extra.put("NODE_RANK", Integer.toString(rank));
                    extra.put("NNODES", Integer.toString(slices.size()));
                    extra.put("GPUS_PER_NODE", Integer.toString(slice.gpus().size()));
                }
                var spec = new Backend.EnvironmentSpec(r.id(), r.environmentName(rank), r.username(), slice.gpus(), keys,
                        slice.sshPort() != null ? slice.sshPort() : (rank == 0 && r.connection() != null ? r.connection().port() : null),
                        rank == 0 && r.lifecycle().jupyter(), rank == 0, extra, r.options());
                var env = p.backend().ensure(spec);
                if (rank == 0) {
                    masterAddr = env.sshHost();
                }
                envs.add(env);
            }
            Backend.Environment first = envs.getFirst();
            if (r.status() == ReservationStatus.PREPARING) {
                p.db().inTransaction(c -> {
                    var current = p.reservations().lock(c, r.id()).orElseThrow();
                    if (current.status() != ReservationStatus.PREPARING) {
                        return null;
                    }
                    Instant now = p.clock().instant();
                    Map<String, Object> set = new HashMap<>();
                    if (current.placement() != null) {
                        set.putAll(Reservations.placementColumns(withEndpoints(current.placement(), envs)));
                    }
                    set.put("launched_at", now);
                    set.put("expires_at", now.plus(Extension.toDuration(current.durationHours())));
                    set.put("ssh_host", first.sshHost());
                    set.put("ssh_port", first.sshPort());
                    set.put("last_active_at", now);
                    set.put("current_detailed_status", first.detail());
                    p.reservations().transition(c, current, ReservationStatus.ACTIVE,
                            envs.size() > 1 ? "environments ready on " + envs.size() + " nodes" : "environment ready", now, set);
                    return null;
                });
                return;
            }
            boolean moved = r.placement() != null && !withEndpoints(r.placement(), envs).equals(r.placement());
            if (moved || !java.util.Objects.equals(first.detail(), r.detailedStatus())) {
                p.db().inTransaction(c -> {
                    Map<String, Object> set = new HashMap<>();
                    if (moved) {
                        set.putAll(Reservations.placementColumns(withEndpoints(r.placement(), envs)));
                        set.put("ssh_port", first.sshPort());
                        log.warn("environment {} came back on other ports", r.environmentName());
                    }
                    set.put("current_detailed_status", first.detail());
                    p.reservations().update(c, r.id(), set);
                    return null;
                });
            }
        } catch (Exception e) {
            log.error("environment {} could not be created: {}", r.environmentName(), e.toString());
            p.db().inTransaction(c -> {
                var current = p.reservations().lock(c, r.id()).orElseThrow();
                if (!current.status().isTerminal()) {
                    p.reservations().transition(c, current, ReservationStatus.FAILED, "environment failed: " + e.getMessage(),
                            p.clock().instant(), Map.of("failure_reason", "the environment could not be created: " + e.getMessage()));
                }
                return null;
            });
        }
    }

    private static Reservation.Placement withEndpoints(Reservation.Placement placement, List<Backend.Environment> envs) {
        List<Reservation.Placement.Slice> slices = new java.util.ArrayList<>();
        for (int i = 0; i < placement.slices().size(); i++) {
            var sl = placement.slices().get(i);
            slices.add(new Reservation.Placement.Slice(sl.node(), sl.gpus(), envs.get(i).sshHost(), envs.get(i).sshPort()));
        }
        return new Reservation.Placement(slices);
    }

    @Override
    public void close() {
        running.set(false);
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
