package dev.gpudev.processor;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
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

    private final Processor.Parts p;
    private final ProcessorSettings settings;

    Sweeper(Processor.Parts parts, ProcessorSettings settings) {
        this.p = parts;
        this.settings = settings;
    }

    /** One pass; true when it changed a reservation's state (the scheduler then plans everything again). */
    boolean sweep() {
        Instant now = p.clock().instant();
        boolean changed = false;
        // Only the waiting ones too old are read (the queue can be deep); without histories: every change
        // below re-reads its row under a lock, history and all.
        List<Reservation> stale = p.db().query(c -> p.reservations().createdBefore(c, ReservationStatus.QUEUED,
                now.minus(settings.queuedMaxAge())));
        for (Reservation r : stale) {
            changed |= end(r, ReservationStatus.CANCELLED, "waited longer than " + hours(settings.queuedMaxAge())
                    + " for GPUs; submit again or ask for fewer", now);
        }
        List<Reservation> live = p.db().query(c -> p.reservations().withStatus(c, false,
                ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        for (Reservation r : live) {
            if (r.status() == ReservationStatus.PREPARING) {
                Instant since = r.lifecycle().statusChangedAt() != null ? r.lifecycle().statusChangedAt() : r.createdAt();
                if (Duration.between(since, now).compareTo(settings.preparingTimeout()) > 0) {
                    changed |= end(r, ReservationStatus.FAILED, "the environment was not ready within "
                            + settings.preparingTimeout().toMinutes() + " minutes", now);
                }
            } else {
                changed |= active(r, now);
            }
        }
        return changed;
    }

    private boolean active(Reservation r, Instant now) {
        if (r.expiresAt() == null) {
            return false;
        }
        if (!now.isBefore(r.expiresAt().plus(settings.grace()))) {
            return end(r, ReservationStatus.EXPIRED, "reservation time is over", now);
        }
        warnBeforeExpiry(r, now);
        return checkIdle(r, now);
    }

    private void warnBeforeExpiry(Reservation r, Instant now) {
        Duration left = Duration.between(now, r.expiresAt());
        // Only the tightest threshold passed is announced: a reservation of 10 minutes gets the 5-minute one, not three at once.
        Integer due = null;
        for (int minutes : settings.warnMinutes()) {
            if (left.compareTo(Duration.ofMinutes(minutes)) <= 0 && !r.lifecycle().warningsSent().contains(minutes)) {
                due = due == null ? minutes : Math.min(due, minutes);
            }
        }
        if (due == null) {
            return;
        }
        int minutes = due;
        List<Integer> sent = new ArrayList<>(r.lifecycle().warningsSent());
        for (int m : settings.warnMinutes()) {
            if (m >= minutes && !sent.contains(m)) {
                sent.add(m);
            }
        }
        String message = "gpudev: this environment expires in " + Math.max(1, (left.toSeconds() + 59) / 60) + " minutes, at "
                + DateTimeFormatter.ISO_INSTANT.format(r.expiresAt()) + ". Save your work, or extend it: gpu-dev edit "
                + (r.name() != null ? r.name() : r.id().toString()) + " --extend HOURS";
        p.db().inTransaction(c -> {
            var current = p.reservations().lock(c, r.id()).orElseThrow();
            if (current.status() != ReservationStatus.ACTIVE || current.lifecycle().warningsSent().contains(minutes)) {
                return null;
            }
            p.reservations().update(c, r.id(), Map.of("warnings_sent", sent));
            return null;
        });
        try {
            p.backend().notify(r.environmentName(), "WARN_EXPIRES_IN_" + minutes + "MIN.txt", message, null);
            log.info("warned {}: expires in {} minutes", r.environmentName(), minutes);
        } catch (Exception e) {
            log.warn("could not warn {}: {}", r.environmentName(), e.getMessage());
        }
    }

    private boolean checkIdle(Reservation r, Instant now) {
        var idle = settings.idle();
        if (idle.after().isZero()) {
            return false; // idle detection switched off
        }
        Backend.Activity activity = p.backend().activity(r.environmentName());
        boolean busy = activity.openSessions() > 0
                || (activity.gpuUtilizationPercent() != null && activity.gpuUtilizationPercent() >= idle.gpuUtilizationThreshold());
        Instant lastActive = r.lifecycle().lastActiveAt() != null ? r.lifecycle().lastActiveAt() : r.launchedAt();
        if (busy) {
            // Written at most once a minute: activity is checked every cycle.
            if (lastActive == null || Duration.between(lastActive, now).toSeconds() >= 60 || r.lifecycle().idleWarnedAt() != null) {
                p.db().inTransaction(c -> {
                    java.util.HashMap<String, Object> set = new java.util.HashMap<>();
                    set.put("last_active_at", now);
                    set.put("idle_warned_at", null);
                    p.reservations().update(c, r.id(), set);
                    return null;
                });
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
                    ? "it will be released in " + idle.warning().toMinutes() + " minutes unless you use it"
                    : "please cancel it if you are done, so others can use the GPUs";
            p.db().inTransaction(c -> {
                p.reservations().note(c, p.reservations().lock(c, r.id()).orElseThrow(),
                        "idle for " + idleFor.toMinutes() + " minutes: warned", now, Map.of("idle_warned_at", now));
                return null;
            });
            try {
                p.backend().notify(r.environmentName(), "IDLE_WARNING.txt", "gpudev: this environment has been idle (no SSH session, "
                        + "GPUs under " + idle.gpuUtilizationThreshold() + "% busy) for " + idleFor.toMinutes() + " minutes; " + what, null);
            } catch (Exception e) {
                log.warn("could not warn {} of idleness: {}", r.environmentName(), e.getMessage());
            }
        } else if (idle.action() == ProcessorSettings.Idle.Action.release
                && Duration.between(r.lifecycle().idleWarnedAt(), now).compareTo(idle.warning()) >= 0) {
            return end(r, ReservationStatus.CANCELLED, "released after being idle for " + idleFor.toMinutes() + " minutes", now);
        }
        return false;
    }

    private boolean end(Reservation r, ReservationStatus to, String reason, Instant now) {
        return p.db().inTransaction(c -> {
            var current = p.reservations().lock(c, r.id()).orElseThrow();
            if (current.status() == r.status()) {
                Map<String, Object> set = new java.util.HashMap<>();
                set.put("current_detailed_status", to.wire() + ": " + reason);
                if (to == ReservationStatus.FAILED) {
                    set.put("failure_reason", reason);
                }
                p.reservations().transition(c, current, to, reason, now, set);
                log.info("{} {}: {}", to.wire(), r.id(), reason);
                return true;
            }
            return false;
        });
    }

    private static String hours(Duration d) {
        return d.toHours() + " hours";
    }
}
