package dev.gpudev.processor;

import dev.gpudev.backend.spi.Backend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every backend call that can block, off the processor's loop. The loop asks for a call ({@link #submit})
 * and goes on; a worker carries it out with a deadline; the loop reads what came of it ({@link #drain})
 * on a later cycle, level-triggered like everything else it does. A call past its deadline is abandoned
 * (its thread interrupted, its outcome {@link Outcome#timedOut}, a line naming the environment logged and
 * counted), and the loop goes on: nothing a tenant, a pod or a disk does holds it up.
 *
 * <p>Calls about one thing (an environment, its notices, a disk) form a lane and run one after the other,
 * in the order asked: a removal never overtakes the making of the same environment. A call equal to one
 * already waiting or running in its lane is not asked twice. At most {@code workers} calls run at once;
 * abandoned ones do not count (a backend that hangs forever loses a thread each time, never the pool).
 *
 * <p>With zero workers the calls run at once on the caller's thread (processor tests that drive the
 * loop cycle by cycle); deadlines then cannot be kept.
 */
final class BackendCalls implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackendCalls.class);

    /**
     * What came of a call: its result, or the exception it threw, or that it was abandoned at its deadline.
     */
    record Outcome(BackendCall request, Object result, Exception error, boolean timedOut, Duration took) {
        boolean ok() {
            return error == null && !timedOut;
        }

        /** In words: "timed out after 2 minutes", or the error's message. */
        String problem() {
            if (timedOut) {
                return "the backend did not finish " + request.describe() + " within " + words(took);
            }
            return error == null ? null : error.getMessage() == null ? error.toString() : error.getMessage();
        }
    }

    private final Backend backend;
    private final ProcessorSettings.Workers deadlines;
    private final int workers;
    private final Runnable wake;
    private final ExecutorService threads;
    private final ScheduledExecutorService timer;
    private final Queue<Outcome> done = new ConcurrentLinkedQueue<>();
    /** Per lane: the calls waiting, the head running once started. Guarded by this. */
    private final Map<String, ArrayDeque<BackendCall>> lanes = new HashMap<>();
    private final Map<String, Running> running = new HashMap<>();
    /** Lanes whose head may start when a worker is free, in the order they became ready. */
    private final ArrayDeque<String> ready = new ArrayDeque<>();
    private final AtomicLong abandoned = new AtomicLong();
    /**
     * Abandoned calls whose threads have not returned yet. Past {@link #MAX_STUCK} no new call starts: a
     * backend whose every call hangs loses that many threads, never the machine's.
     */
    private int stuck;
    static final int MAX_STUCK = 64;
    private boolean closed;

    private static final class Running {
        final BackendCall request;
        final long startedNanos;
        Future<?> future;
        boolean finished;

        Running(BackendCall request) {
            this.request = request;
            this.startedNanos = System.nanoTime();
        }
    }

    /**
     * @param settings how many calls run at once (0: on the caller's thread, at once) and their deadlines
     * @param wake    called when an outcome is ready, so the loop looks sooner than its poll interval
     */
    BackendCalls(Backend backend, ProcessorSettings.Workers settings, Runnable wake) {
        this.backend = backend;
        this.workers = settings.threads();
        this.deadlines = settings;
        this.wake = wake;
        if (this.workers > 0) {
            this.threads = Executors.newCachedThreadPool(Thread.ofPlatform().name("backend-call-", 0).daemon().factory());
            this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("backend-deadlines").daemon().factory());
        } else {
            this.threads = null;
            this.timer = null;
        }
    }

    /** Whether calls run on the caller's thread, at once (tests that step the loop). */
    boolean inline() {
        return workers == 0;
    }

    /** Asks for a call; false when the same call is already waiting or running (it is not asked twice). */
    boolean submit(BackendCall request) {
        if (workers == 0) {
            runInline(request);
            return true;
        }
        synchronized (this) {
            if (closed) {
                return false;
            }
            ArrayDeque<BackendCall> lane = lanes.computeIfAbsent(request.lane(), k -> new ArrayDeque<>());
            if (lane.contains(request)) {
                return false;
            }
            lane.add(request);
            if (lane.size() == 1) {
                ready.add(request.lane());
            }
            dispatch();
        }
        return true;
    }

    /** Whether this very call waits or runs now. */
    synchronized boolean pending(BackendCall request) {
        ArrayDeque<BackendCall> q = lanes.get(request.lane());
        return q != null && q.contains(request);
    }

    /** The outcomes that came since the last drain, oldest first. */
    List<Outcome> drain() {
        List<Outcome> out = new ArrayList<>();
        for (Outcome o; (o = done.poll()) != null; ) {
            out.add(o);
        }
        return out;
    }

    /** The outcomes of these kinds of call that came since they were last drained; others stay for their own step. */
    @SafeVarargs
    final List<Outcome> drain(Class<? extends BackendCall>... kinds) {
        List<Outcome> out = new ArrayList<>();
        for (var it = done.iterator(); it.hasNext(); ) {
            Outcome o = it.next();
            for (var k : kinds) {
                if (k.isInstance(o.request())) {
                    out.add(o);
                    it.remove();
                    break;
                }
            }
        }
        return out;
    }

    /** Calls abandoned at their deadline so far. */
    long abandoned() {
        return abandoned.get();
    }

    /** Calls waiting or running now. */
    synchronized int inFlight() {
        return lanes.values().stream().mapToInt(ArrayDeque::size).sum();
    }

    private void runInline(BackendCall request) {
        long t0 = System.nanoTime();
        Object result = null;
        Exception error = null;
        try {
            result = request.run(backend);
        } catch (Exception e) {
            error = e;
        }
        done.add(new Outcome(request, result, error, false, Duration.ofNanos(System.nanoTime() - t0)));
    }

    /** Starts the heads of ready lanes while workers are free. Holds this. */
    private void dispatch() {
        while (running.size() < workers && stuck < MAX_STUCK && !ready.isEmpty()) {
            String laneName = ready.poll();
            ArrayDeque<BackendCall> lane = lanes.get(laneName);
            if (lane == null || lane.isEmpty() || running.containsKey(laneName)) {
                continue;
            }
            BackendCall request = lane.peek();
            Running r = new Running(request);
            running.put(laneName, r);
            r.future = threads.submit(() -> execute(laneName, r));
            Duration deadline = request.deadline(deadlines);
            timer.schedule(() -> expire(laneName, r), deadline.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void execute(String laneName, Running r) {
        Object result = null;
        Exception error = null;
        try {
            result = r.request.run(backend);
        } catch (Exception e) {
            error = e;
        } catch (Error e) {
            error = new IllegalStateException(e.toString(), e);
        }
        Duration took = Duration.ofNanos(System.nanoTime() - r.startedNanos);
        synchronized (this) {
            if (r.finished) {
                log.info("{} finished after {}, past its deadline: its outcome was dropped", r.request.describe(), words(took));
                stuck--;
                if (!closed) {
                    dispatch();
                }
                return;
            }
            r.finished = true;
            finish(laneName, r);
        }
        done.add(new Outcome(r.request, result, error, false, took));
        wake.run();
    }

    /** The deadline passed: if the call still runs, it is abandoned and its lane goes on. */
    private void expire(String laneName, Running r) {
        Duration took;
        synchronized (this) {
            if (r.finished) {
                return;
            }
            r.finished = true;
            r.future.cancel(true);
            took = Duration.ofNanos(System.nanoTime() - r.startedNanos);
            stuck++;
            if (stuck == MAX_STUCK) {
                log.error("{} backend calls hang past their deadlines: no new call starts until one returns", MAX_STUCK);
            }
            finish(laneName, r);
        }
        abandoned.incrementAndGet();
        log.warn("abandoned {}: no answer within {} (the processor goes on without it)", r.request.describe(), words(took));
        done.add(new Outcome(r.request, null, null, true, took));
        wake.run();
    }

    /** The lane's head is done: the next of the lane becomes ready. Holds this. */
    private void finish(String laneName, Running r) {
        running.remove(laneName);
        ArrayDeque<BackendCall> lane = lanes.get(laneName);
        if (lane != null) {
            lane.remove(r.request);
            if (lane.isEmpty()) {
                lanes.remove(laneName);
            } else {
                ready.add(laneName);
            }
        }
        if (!closed) {
            dispatch();
        }
    }

    static String words(Duration d) {
        long s = d.toSeconds();
        return s >= 120 ? (s / 60) + " minutes" : s >= 1 ? s + " s" : d.toMillis() + " ms";
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        if (threads != null) {
            threads.shutdownNow();
            timer.shutdownNow();
        }
    }
}
