package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.Activity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.Transition;
import dev.gpudev.store.ProxySessions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Time-driven housekeeping: expiry warnings, expiry after the grace period, reservations stuck in
 * preparing or waiting too long, and idle environments. Every step is idempotent: a warning is
 * recorded as sent in the same transaction that decides to send it.
 */
final class Sweeper {
    private static final Logger log = LoggerFactory.getLogger(Sweeper.class);

    private final Database db;
    private final Reservations reservations;
    private final ProxySessions proxySessions;
    private final Backend backend;
    private final Clock clock;
    private final ProcessorSettings settings;
    private final BackendCalls calls;

    private final dev.gpudev.store.Webhooks webhooks = new dev.gpudev.store.Webhooks();

    Sweeper(Database db, Reservations reservations, ProxySessions proxySessions, Backend backend, Clock clock,
            ProcessorSettings settings, BackendCalls calls) {
        this.db = db;
        this.reservations = reservations;
        this.proxySessions = proxySessions;
        this.backend = backend;
        this.clock = clock;
        this.settings = settings;
        this.calls = calls;
    }

    /** One pass over the cycle's live set; true when it ended a reservation (the scheduler then plans everything again). */
    boolean sweep(LiveSet live) {
        Instant now = clock.instant();
        boolean changed = false;
        // Only the waiting ones too old are read (the queue can be deep).
        List<Reservation> stale = db.query(c -> reservations.createdBefore(c, ReservationStatus.QUEUED,
                now.minus(settings.queuedMaxAge())));
        for (Reservation r : stale) {
            changed |= end(r, Transition.cancel("waited longer than " + settings.queuedMaxAge().toHours()
                    + " hours for GPUs; submit again or ask for fewer"), now, live);
        }
        Map<String, Activity> activity = null;
        Map<ProxySessions.Endpoint, Integer> tunnels = null;
        for (Reservation r : live.all()) {
            if (r.status() == ReservationStatus.PREPARING) {
                Instant since = r.lifecycle().statusChangedAt() != null ? r.lifecycle().statusChangedAt() : r.createdAt();
                if (Duration.between(since, now).compareTo(settings.preparingTimeout()) > 0) {
                    changed |= end(r, Transition.fail("the environment was not ready within "
                            + Notices.minutes(settings.preparingTimeout().toMinutes()) + waitingFor(r)), now, live);
                }
                continue;
            }
            if (r.expiresAt() == null) {
                continue;
            }
            if (!now.isBefore(r.expiresAt().plus(settings.grace()))) {
                changed |= end(r, Transition.expire("reservation time is over"), now, live);
                continue;
            }
            warnBeforeExpiry(r, now);
            if (!settings.idle().after().isZero()) {
                if (activity == null) {
                    activity = backend.activity(); // one call for every environment, only when someone may be idle
                    // and the tunnels the SSH proxies hold open (a backend may not see SSH sessions itself)
                    tunnels = db.query(c -> proxySessions.open(c, now.minus(PROXY_SILENCE)));
                }
                changed |= checkIdle(r, activity, tunnels, now, live);
            }
        }
        return changed;
    }

    private static String waitingFor(Reservation r) {
        String d = r.detailedStatus();
        return d == null || d.isBlank() || d.equals("creating environment") ? "" : " (last: " + d + ")";
    }

    /** Thresholds passed by more than this (a reservation shorter than them, a long pause) are skipped, not announced late. */
    static final Duration LATE = Duration.ofMinutes(2);

    /** In {@code warnings_sent}: the end was announced (the grace minute). */
    static final int ENDED = 0;

    private int last() {
        return settings.warnMinutes().stream().mapToInt(Integer::intValue).min().orElse(0);
    }

    private void warnBeforeExpiry(Reservation r, Instant now) {
        Duration left = Duration.between(now, r.expiresAt());
        List<Integer> was = r.lifecycle().warningsSent();
        List<Integer> sent = new ArrayList<>(was);
        Integer due = null;
        for (int minutes : settings.warnMinutes()) {
            if (left.compareTo(Duration.ofMinutes(minutes)) <= 0 && !was.contains(minutes)) {
                sent.add(minutes);
                // Only a threshold reached just now is announced, so a file named for 15 minutes never says 6: a
                // reservation of 10 minutes gets the 5-minute one only, the others are marked without a word. The
                // last one is said however late (after a pause of the processor, say): better late than never.
                if (left.compareTo(Duration.ofMinutes(minutes).minus(LATE)) > 0 || minutes == last()) {
                    due = due == null ? minutes : Math.min(due, minutes);
                }
            }
        }
        boolean ended = !left.isPositive() && !was.contains(ENDED);
        if (ended) {
            sent.add(ENDED);
        }
        if (sent.size() == was.size()) {
            return;
        }
        String ref = r.name() != null ? r.name() : r.id().toString();
        String message = ended ? "gpudev: this environment's time is up (" + DateTimeFormatter.ISO_INSTANT.format(r.expiresAt())
                + "): it is removed within a minute. Your home is kept; reserve again to continue."
                : due == null ? null : "gpudev: this environment expires in " + Notices.minutes(Math.max(1, (left.toSeconds() + 59) / 60))
                + ", at " + DateTimeFormatter.ISO_INSTANT.format(r.expiresAt()) + ". Save your work, or extend it: gpu-dev edit " + ref
                + " --extend HOURS";
        // Decided once, with the row as it was read: a concurrent extension (which clears the warnings) wins.
        Integer said = ended ? null : due;
        boolean decided = db.inTransaction(c -> {
            boolean won = reservations.updateIfWarnings(c, r.id(), ReservationStatus.ACTIVE, was, ReservationUpdate.of().warningsSent(sent));
            if (won && said != null && (said == 30 || said == 5)) { // the owner's webhooks hear the 30- and 5-minute ones
                webhooks.enqueue(c, r.userId(), r.options().team(), r.id(), "expiring", "{\"minutes\":" + said + "}");
            }
            return won;
        });
        if (!decided || message == null) {
            return;
        }
        for (String name : r.environmentNames()) {
            if (ended) {
                calls.submit(new BackendCall.ClearNotices(name, Notices.EXPIRY_PREFIX)); // no countdown left behind
                calls.submit(new BackendCall.Notify(name, Notices.ENDED, message));
            } else {
                calls.submit(new BackendCall.Notify(name, Notices.expiry(due), message));
            }
        }
        log.info("warning {}: {}", r.environmentName(), ended ? "its time is up" : "expires in " + due + " minutes");
    }

    /** Tunnels from a proxy that has not been heard from for this long are not counted (it went away). */
    static final Duration PROXY_SILENCE = Duration.ofMinutes(2);

    /** Where node {@code rank}'s SSH endpoint is (what the proxy's tunnels lead to). */
    private static ProxySessions.Endpoint endpoint(Reservation r, int rank) {
        if (r.placement() != null && rank < r.placement().slices().size()) {
            var slice = r.placement().slices().get(rank);
            if (slice.sshHost() != null && slice.sshPort() != null) {
                return new ProxySessions.Endpoint(slice.sshHost(), slice.sshPort());
            }
        }
        return rank == 0 && r.connection() != null ? new ProxySessions.Endpoint(r.connection().host(), r.connection().port()) : null;
    }

    private boolean checkIdle(Reservation r, Map<String, Activity> activity, Map<ProxySessions.Endpoint, Integer> tunnels, Instant now,
                              LiveSet live) {
        var idle = settings.idle();
        // A batch run's command at work is use, whatever its sessions and GPUs show (it may be copying data).
        boolean busy = r.options().run() != null && r.lifecycle().runOutcome() == null;
        for (int rank = 0; rank < r.nodeCount(); rank++) {
            Activity a = activity.get(r.environmentName(rank));
            if (a != null && (a.openSessions() > 0
                    || (a.gpuUtilizationPercent() != null && a.gpuUtilizationPercent() >= idle.gpuUtilizationThreshold()))) {
                busy = true;
            }
            ProxySessions.Endpoint endpoint = endpoint(r, rank);
            if (endpoint != null && tunnels.getOrDefault(endpoint, 0) > 0) {
                busy = true;
            }
        }
        Instant lastActive = r.lifecycle().lastActiveAt() != null ? r.lifecycle().lastActiveAt() : r.launchedAt();
        if (busy) {
            // Written at most once a minute: activity is checked every cycle.
            if (lastActive == null || Duration.between(lastActive, now).toSeconds() >= 60 || r.lifecycle().idleWarnedAt() != null) {
                db.inTransaction(c -> reservations.updateIf(c, r.id(), ReservationStatus.ACTIVE,
                        ReservationUpdate.of().lastActiveAt(now).idleWarnedAt(null)));
                if (r.lifecycle().idleWarnedAt() != null) {
                    clear(r, Notices.IDLE);
                }
            }
            return false;
        }
        if (r.lifecycle().idleOptOut() || lastActive == null) {
            return false;
        }
        Duration idleFor = Duration.between(lastActive, now);
        if (idleFor.compareTo(idle.after()) < 0) {
            return false;
        }
        if (r.lifecycle().idleWarnedAt() == null) {
            String what = idle.action() == ProcessorSettings.Idle.Action.release
                    ? "it will be released in " + Notices.minutes(idle.warning().toMinutes()) + " unless you use it"
                    : "please cancel it if you are done, so others can use the GPUs";
            boolean noted = db.inTransaction(c -> reservations.note(c, r.id(), ReservationStatus.ACTIVE,
                    "idle for " + Notices.minutes(idleFor.toMinutes()) + ": warned", now, ReservationUpdate.of().idleWarnedAt(now)).isPresent());
            if (noted) {
                calls.submit(new BackendCall.Notify(r.environmentName(), Notices.IDLE, "gpudev: this environment has been idle (no SSH session, "
                        + "GPUs under " + idle.gpuUtilizationThreshold() + "% busy) for " + Notices.minutes(idleFor.toMinutes()) + "; " + what));
            }
        } else if (idle.action() == ProcessorSettings.Idle.Action.release
                && Duration.between(r.lifecycle().idleWarnedAt(), now).compareTo(idle.warning()) >= 0) {
            return end(r, Transition.cancel("released after being idle for " + Notices.minutes(idleFor.toMinutes())), now, live);
        }
        return false;
    }

    private void clear(Reservation r, String prefix) {
        calls.submit(new BackendCall.ClearNotices(r.environmentName(), prefix));
    }

    /**
     * Ends a reservation if it is still as it was read (compare-and-set on its state); the new row replaces
     * it in the live set, and its environments are removed (off the loop).
     */
    private boolean end(Reservation r, Transition t, Instant now, LiveSet live) {
        var after = db.inTransaction(c -> reservations.transition(c, r.id(), r.status(), t, now));
        if (after.isEmpty()) {
            return false;
        }
        log.info("{} {}: {}", t.to().wire(), r.id(), t.reason());
        live.put(after.get());
        if (r.status().holdsGpus()) {
            for (String name : r.environmentNames()) {
                calls.submit(new BackendCall.Destroy(name));
            }
        }
        return true;
    }
}
