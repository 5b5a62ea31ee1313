package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A measured quota on every running environment's home (its own, a scratch one, or a named disk), where
 * the file system has no project quotas to hold one: each home is measured as its owner ({@code du}, a
 * deadline) on a thread of its own, never the processor's. At 90% its users are told (a notice in the home
 * and on their terminals); past the quota they are told again and the environment's files stop growing:
 * every process of it, and every session that starts, gets a file-size limit of zero (RLIMIT_FSIZE), so
 * writing more fails ("File too large") while deleting and truncating work. Back under the quota, the
 * limit is lifted. Between two measurements a home can grow past its quota: a bound on what one tenant
 * takes of the disk over time, not a hard one (see the README).
 */
final class HomeQuota implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HomeQuota.class);
    static final String NOTICE = "QUOTA_WARNING.txt";
    private static final Duration MEASURE_DEADLINE = Duration.ofMinutes(2);

    enum State { UNDER, NEAR, OVER }

    private record Measured(long bytes, State state) {
    }

    private final long quota;
    private final int uidBase;
    private final Supplier<Collection<LocalEnvironment>> running;
    private final Map<String, Measured> measured = new ConcurrentHashMap<>();
    private final ScheduledExecutorService thread;

    /**
     * @param quota   bytes a home may take (0: no quota, nothing is measured)
     * @param every   how often each home is measured
     */
    HomeQuota(long quota, Duration every, int uidBase, Supplier<Collection<LocalEnvironment>> running) {
        this.quota = quota;
        this.uidBase = uidBase;
        this.running = running;
        if (quota > 0) {
            thread = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("home-quota").daemon().factory());
            thread.scheduleWithFixedDelay(this::measureAll, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
        } else {
            thread = null;
        }
    }

    /** "home: 1.2 GiB of 100 GiB", or how it is over; empty when not measured (yet, or no quota). */
    String describe(String environment) {
        Measured m = measured.get(environment);
        if (m == null) {
            return "";
        }
        String used = "home " + Box.Limits.gib(m.bytes()) + " of " + Box.Limits.gib(quota);
        return m.state() == State.OVER ? used + ", over its quota: files cannot grow until some are deleted" : used;
    }

    void forget(String environment) {
        measured.remove(environment);
    }

    private void measureAll() {
        for (LocalEnvironment env : running.get()) {
            try {
                measure(env);
            } catch (RuntimeException e) {
                log.warn("could not measure the home of {}: {}", env.spec().name(), e.toString());
            }
        }
    }

    /** Measures one environment's home and acts on what changed (public to the package for tests that do not wait). */
    void measure(LocalEnvironment env) {
        String name = env.spec().name();
        long bytes;
        try {
            bytes = TenantJobs.usage(env.home(), TenantJobs.ownerOf(env.home(), uidBase), MEASURE_DEADLINE);
        } catch (BackendException e) {
            log.warn("could not measure the home of {}: {}", name, e.getMessage());
            return;
        }
        State state = bytes > quota ? State.OVER : bytes * 10 >= quota * 9 ? State.NEAR : State.UNDER;
        Measured before = measured.put(name, new Measured(bytes, state));
        State was = before == null ? State.UNDER : before.state();
        if (state == State.OVER) {
            // (again at every measurement: a process forked meanwhile may have escaped the last one)
            env.box().limitGrowth(true);
            if (was != State.OVER) {
                log.info("the home of {} is over its quota ({} of {}): its files stop growing", name, Box.Limits.gib(bytes), Box.Limits.gib(quota));
                tell(env, "gpudev: this environment's home holds " + Box.Limits.gib(bytes) + ", over its quota of " + Box.Limits.gib(quota)
                        + ": files cannot grow until you delete some (du -sh ~/* shows what is big)");
            }
            return;
        }
        if (was == State.OVER) {
            env.box().limitGrowth(false);
            log.info("the home of {} is under its quota again: its files may grow", name);
        }
        if (state == State.NEAR && was == State.UNDER) {
            tell(env, "gpudev: this environment's home holds " + Box.Limits.gib(bytes) + " of its quota of " + Box.Limits.gib(quota)
                    + "; past it, files stop growing");
        }
        if (state == State.UNDER && was != State.UNDER) {
            try {
                TenantJobs.clear(env.box(), name, List.of(NOTICE), Duration.ofSeconds(10));
            } catch (BackendException e) {
                log.debug("quota notice of {} not cleared: {}", name, e.getMessage());
            }
        }
    }

    private void tell(LocalEnvironment env, String message) {
        try {
            TenantJobs.notice(env.box(), env.spec().name(), NOTICE, message, Duration.ofSeconds(10));
        } catch (BackendException e) {
            log.debug("quota notice of {} not written: {}", env.spec().name(), e.getMessage());
        }
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.shutdownNow();
        }
    }
}
