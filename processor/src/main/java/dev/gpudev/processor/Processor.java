package dev.gpudev.processor;

import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import dev.gpudev.store.Notifications;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The job processor's loop: a cycle applies queued commands, ends what is over, schedules, and
 * converges the backend to the rows; then it waits for a NOTIFY (milliseconds) or the poll interval.
 * Each step is a class of its own; this one only orders them and hands the cycle's live set along.
 * Several replicas may run: commands are leased (SKIP LOCKED), scheduling takes an advisory lock. A
 * backend only one processor may drive per database ({@link dev.gpudev.backend.spi.Backend#exclusiveLease})
 * is driven by the one that holds its lease; the others stand by, doing nothing, and one takes over when
 * the lease lapses (its holder died). A holder that finds it lost the lease stops and removes what it ran.
 */
public final class Processor implements Runnable, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Processor.class);
    private static final long SLOW_CYCLE_NANOS = 100_000_000;
    /**
     * Wake-ups closer together than this are served by one cycle: a burst of submits is one pass, not
     * hundreds. The gap grows with the cost of a cycle (three times its time, at most a second), so a
     * deep queue never takes more than a quarter of the processor's machine.
     */
    private static final long MIN_CYCLE_GAP_MS = 50;

    private final Parts p;
    private final ProcessorSettings settings;
    private final CommandApplier commands;
    private final Sweeper sweeper;
    private final SchedulingPass scheduling;
    private final Reconciler reconciler;
    private final PoolSizer pools;

    /** The elastic pools' sizer (tests tune its times). */
    PoolSizer pools() {
        return pools;
    }
    private final UsageSampler usage;
    private final DiskOperations disks;
    private final BackendCalls calls;
    private final WebhookSender webhooks;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Waiter waiter;
    private Capacity published;
    /** Scheduling passes so far, by what they planned ({@link PlanCache.Mode}). */
    private final long[] passes = new long[PlanCache.Mode.values().length];
    private Thread thread;
    /** Who this processor is, for the lease. */
    private final String holder = java.util.UUID.randomUUID() + "@" + hostName();
    /** Whether this processor drives the backend now (always, for a backend every replica may drive). */
    private volatile boolean leading;
    private long leaseCheckedAt;

    public Processor(Parts parts, ProcessorSettings settings) {
        this.p = parts;
        this.settings = settings;
        this.waiter = new Waiter(new Notifications.Listener(parts.db()));
        this.calls = new BackendCalls(parts.backend(), settings.workers(), waiter::wake);
        var db = parts.db();
        var clock = parts.clock();
        this.disks = new DiskOperations(db, parts.reservations(), parts.disks(), parts.schedulerState(), clock, calls);
        this.commands = new CommandApplier(db, parts.pgmq(), parts.commands(), parts.reservations(), clock, settings, calls,
                new ReservationCommands(parts.reservations(), parts.reservationUsers(), parts.users(), clock,
                        parts.backend()::capacity, settings.grace()), disks);
        this.sweeper = new Sweeper(db, parts.reservations(), parts.proxySessions(), parts.backend(), clock, settings, calls);
        this.scheduling = new SchedulingPass(db, parts.reservations(), parts.schedulerState(), new dev.gpudev.store.GpuHours(),
                settings.fairShare(), clock,
                new dev.gpudev.core.Scheduler(settings.limits(), settings.grace(), settings.preemptionNotice()), calls);
        this.reconciler = new Reconciler(db, parts.reservations(), parts.sshKeys(), parts.backend(), clock, calls);
        this.pools = new PoolSizer(db, parts.reservations(), parts.backend(), clock, calls, settings.grace());
        this.usage = new UsageSampler(db, parts.reservations(), parts.usageSamples(), clock);
        this.webhooks = new WebhookSender(db, new dev.gpudev.store.Webhooks(), parts.reservations(), settings.webhooks(), clock);
    }

    /** The notifications' sender (its own thread once started; tests step it). */
    WebhookSender webhooks() {
        return webhooks;
    }

    public synchronized void start() {
        if (lead()) {
            publishCapacity(); // before the API answers a submit: it reads capacity from the database
        }
        thread = Thread.ofPlatform().name("processor").daemon().start(this);
        webhooks.start();
    }

    /**
     * Whether this processor may drive the backend now: always for a backend every replica may drive; for
     * an exclusive one, while it holds the lease (renewed every third of its length). A holder that lost it
     * (it was paused past the lease, and another took over) removes what it ran here.
     */
    private boolean lead() {
        String name = p.backend().exclusiveLease();
        if (name == null) {
            leading = true;
            return true;
        }
        long now = System.nanoTime();
        if (leaseCheckedAt != 0 && now - leaseCheckedAt < settings.leadership().toNanos() / 3) {
            return leading;
        }
        boolean held;
        try {
            held = p.db().query(c -> p.leases().acquire(c, name, holder, settings.leadership()));
        } catch (RuntimeException e) {
            log.warn("could not renew the lease {} ({}); standing by", name, e.toString());
            held = false;
        }
        leaseCheckedAt = now;
        if (held && !leading) {
            log.info("this processor drives the backend now (lease {} held by {})", name, holder);
            published = null; // published again: the capacity of this machine
        } else if (!held && leading) {
            log.warn("lease {} lost: another processor drives the backend now; this one removes what it ran and stands by", name);
            try {
                p.backend().observe().keySet().forEach(env -> calls.submit(new BackendCall.Destroy(env)));
            } catch (RuntimeException e) {
                log.warn("could not list what this processor ran: {}", e.toString());
            }
        } else if (!held && !saidStandingBy) {
            log.info("another processor drives the backend (lease {}); this one stands by", name);
        }
        saidStandingBy = !held;
        leading = held;
        return held;
    }

    private boolean saidStandingBy;

    /** Whether this processor drives the backend now (tests, logs). */
    public boolean leading() {
        return leading;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown-host";
        }
    }

    /** Every cycle's time, said as a line a period (count, p50, p99, max): what a load test reads of the loop. */
    private final CycleStats cycleStats = new CycleStats(java.time.Duration.ofSeconds(Long.getLong("gpudev.cycleStatsSeconds", 60)));

    /** When the loop last came round (leading or standing by): a loop stuck anywhere stops moving it. */
    private volatile long lastTurnNanos = System.nanoTime();

    /** How long ago the loop last came round; a health check's answer. */
    public java.time.Duration sinceLastTurn() {
        return java.time.Duration.ofNanos(System.nanoTime() - lastTurnNanos);
    }

    @Override
    public void run() {
        while (running.get()) {
            long started = System.nanoTime();
            lastTurnNanos = started;
            if (!lead()) {
                waiter.await((int) Math.max(50, settings.leadership().toMillis() / 3), false);
                continue;
            }
            try {
                cycle();
            } catch (RuntimeException e) {
                log.error("processor cycle failed; retrying after the poll interval", e);
            }
            if (running.get()) {
                long spentMs = (System.nanoTime() - started) / 1_000_000;
                long gap = Math.min(1000, Math.max(MIN_CYCLE_GAP_MS, 3 * spentMs));
                if (spentMs < gap) {
                    waiter.pause(gap - spentMs); // a finished backend call ends it: its outcome is looked at now
                    if (Thread.currentThread().isInterrupted()) {
                        break;
                    }
                }
                waiter.await((int) settings.pollInterval().toMillis(), calls.inFlight() > 0);
            }
        }
        waiter.close();
    }

    /** One full pass; public so tests can drive the processor step by step. */
    public void cycle() {
        long t0 = System.nanoTime();
        for (var o : calls.drain(BackendCall.Notify.class, BackendCall.ClearNotices.class)) {
            if (!o.ok()) {
                log.warn("{} failed: {}", o.request().describe(), o.problem());
            }
        }
        var outcome = commands.applyAll();
        scheduling.arrived(outcome.arrivals());
        if (outcome.changed()) {
            scheduling.replan();
        }
        long t1 = System.nanoTime();
        // The backend before the rows: see Reconciler.run. A backend that cannot answer (its API is down)
        // stops only the reconciliation: expiry, warnings and scheduling go on, on the capacity last seen.
        Map<String, Observed> observed = null;
        Capacity capacity = published;
        try {
            observed = p.backend().observe();
            capacity = publishCapacity();
        } catch (RuntimeException e) {
            log.warn("the backend did not answer ({}); this cycle does not reconcile", e.toString());
        }
        LiveSet live = new LiveSet(p.db().query(c -> p.reservations().withStatus(c, false, LiveSet.states())));
        if (sweeper.sweep(live)) {
            scheduling.replan();
        }
        long t2 = System.nanoTime();
        SchedulingPass.Stats pass = SchedulingPass.Stats.NONE;
        if (capacity != null) {
            var planned = pools.planned(capacity); // nodes asked for that do not exist yet are planned on too
            pass = scheduling.run(live, planned.capacity(), planned.placeholders());
            passes[pass.mode().ordinal()]++;
            try {
                pools.run(live, capacity);
            } catch (RuntimeException e) {
                log.warn("the GPU pools were not sized this cycle: {}", e.toString());
            }
        }
        long t3 = System.nanoTime();
        if (observed != null) {
            reconciler.run(live, observed);
        }
        try {
            disks.run();
        } catch (RuntimeException e) {
            log.warn("disk operations not looked at this cycle: {}", e.toString());
        }
        try {
            usage.sample(capacity);
        } catch (RuntimeException e) {
            log.warn("could not record this minute's usage sample: {}", e.toString());
        }
        long t4 = System.nanoTime();
        cycleStats.add(t4 - t0, t4);
        if (t4 - t0 > SLOW_CYCLE_NANOS) {
            log.info("slow processor cycle: {} ms (commands {} ms, sweep {} ms, scheduling {} ms [{}], reconcile {} ms; queue rows"
                            + " waiting for the writer {})", (t4 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                    (t3 - t2) / 1_000_000, pass, (t4 - t3) / 1_000_000, scheduling.queueBacklog());
        }
    }

    /**
     * The backend's capacity, published for the API when it changed (nodes joining, leaving, relabelled),
     * with what the backend is (isolated or not, who logs in): an API replica answers by these, never by its
     * own machine.
     */
    private Capacity publishCapacity() {
        Capacity now = p.backend().capacity();
        if (!now.equals(published)) {
            // the API also sees the nodes the elastic pools may start: a type at zero nodes may be reserved
            Capacity reachable = pools.withPotential(now);
            p.db().inTransaction(c -> {
                p.capacityTable().publish(c, reachable, p.clock().instant());
                p.capacityTable().publishTraits(c, p.backend().traits(), p.clock().instant());
                return null;
            });
            published = now;
            log.info("capacity published: {} node(s), {} GPU(s)", now.nodes().size(), now.nodes().stream().mapToInt(n -> n.gpus().size()).sum());
        }
        return now;
    }

    /**
     * Passes that read and planned the whole queue, passes that planned only new arrivals, and passes that
     * planned the whole queue again from memory (for tests and logs).
     */
    public long[] planCounts() {
        return new long[]{passes[PlanCache.Mode.FULL.ordinal()], passes[PlanCache.Mode.ARRIVALS.ordinal()],
                passes[PlanCache.Mode.FROM_MEMORY.ordinal()]};
    }

    /** Backend calls waiting or running now, and abandoned at their deadline so far (for tests and metrics). */
    public long[] backendCalls() {
        return new long[]{calls.inFlight(), calls.abandoned()};
    }

    @Override
    public void close() {
        stop();
        String name = p.backend().exclusiveLease();
        if (name != null && leading) {
            try {
                p.db().query(c -> {
                    p.leases().release(c, name, holder);
                    return null;
                });
            } catch (RuntimeException e) {
                log.warn("could not give the lease {} up ({}): another processor takes over when it lapses", name, e.toString());
            }
        }
    }

    /** Stops the loop without giving anything up, as a crash would (tests of what the others do then). */
    void stop() {
        running.set(false);
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        calls.close();
        webhooks.close();
        scheduling.close();
    }
}
