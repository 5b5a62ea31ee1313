package dev.gpudev.processor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.WebhookPolicy;
import dev.gpudev.store.Database;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Webhooks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Delivers the outbox's notifications to users' webhooks, on its own thread (never the loop's): each
 * event is claimed for a while (so another replica's sender skips it), posted with a deadline (no
 * redirects followed; the host's addresses checked against the {@link WebhookPolicy} first), and marked
 * sent, or tried again later (after 10 s, 1 min, 5 min, 30 min), or given up. A URL is never logged.
 * Once a minute it also records "late" events: waiting reservations still waiting five minutes past the
 * first start they were told.
 */
final class WebhookSender implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration DEADLINE = Duration.ofSeconds(5);
    static final List<Duration> RETRIES = List.of(Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(30));
    private static final Duration CLAIM = Duration.ofMinutes(2);

    private final Database db;
    private final Webhooks webhooks;
    private final Reservations reservations;
    private final WebhookPolicy policy;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3))
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private volatile Thread thread;
    /** A waiting reservation still waiting this long after its first estimated start is "late" (told once). */
    static final Duration LATE_MARGIN = Duration.ofMinutes(5);
    private static final Duration LATE_EVERY = Duration.ofMinutes(1);
    private Instant lateCheckedAt;

    WebhookSender(Database db, Webhooks webhooks, Reservations reservations, WebhookPolicy policy, Clock clock) {
        this.db = db;
        this.webhooks = webhooks;
        this.reservations = reservations;
        this.policy = policy;
        this.clock = clock;
    }

    void start() {
        thread = Thread.ofPlatform().name("webhooks").daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    if (deliverDue() == 0) {
                        Thread.sleep(1000);
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    log.warn("notifications: a round failed ({})", e.getClass().getSimpleName().replace("Exception", ""));
                    try {
                        Thread.sleep(5000);
                    } catch (InterruptedException stop) {
                        return;
                    }
                }
            }
        });
    }

    /** One round: the events due now, delivered side by side, each within the deadline; how many were due. */
    int deliverDue() throws InterruptedException {
        Instant now = clock.instant();
        if (lateCheckedAt == null || !now.isBefore(lateCheckedAt.plus(LATE_EVERY))) {
            lateCheckedAt = now;
            db.inTransaction(c -> webhooks.late(c, now, LATE_MARGIN)); // their events join the outbox, delivered below
        }
        List<Webhooks.Due> due = db.inTransaction(c -> webhooks.claim(c, now, CLAIM, 50));
        if (due.isEmpty()) {
            return 0;
        }
        // One hook's events in order (a start is never heard after its end); different hooks side by side.
        java.util.Map<Long, List<Webhooks.Due>> byHook = new java.util.LinkedHashMap<>();
        for (Webhooks.Due d : due) {
            byHook.computeIfAbsent(d.hook().id(), h -> new ArrayList<>()).add(d);
        }
        try (var workers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (List<Webhooks.Due> inOrder : byHook.values()) {
                workers.submit(() -> inOrder.forEach(this::deliver)); // each delivery within its deadline: the round ends
            }
        }
        return due.size();
    }

    private void deliver(Webhooks.Due d) {
        String outcome;
        boolean retry = true;
        try {
            URI uri = policy.check(d.hook().url());
            String refused = policy.refusal(uri.getHost());
            if (refused != null) {
                outcome = refused;
                retry = false;
            } else {
                Reservation r = db.query(c -> reservations.find(c, d.reservationId())).orElse(null);
                if (r == null) {
                    db.inTransaction(c -> {
                        webhooks.failed(c, d.eventId(), null, "the reservation is gone");
                        return null;
                    });
                    return;
                }
                // The whole exchange, body included, within the deadline (a receiver that drips its answer is cut off).
                var pending = http.sendAsync(HttpRequest.newBuilder(uri).timeout(DEADLINE).header("Content-Type", "application/json")
                        .header("User-Agent", "gpudev-notifications").header("X-Gpudev-Event-Id", Long.toString(d.eventId()))
                        .POST(HttpRequest.BodyPublishers.ofString(body(d, r))).build(), HttpResponse.BodyHandlers.discarding());
                HttpResponse<Void> res;
                try {
                    res = pending.get(DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    pending.cancel(true);
                    throw new java.net.http.HttpTimeoutException("deadline");
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof java.io.IOException io ? io : new java.io.IOException("the exchange failed");
                }
                if (res.statusCode() / 100 == 2) {
                    db.inTransaction(c -> {
                        webhooks.sent(c, d.eventId(), clock.instant());
                        return null;
                    });
                    return;
                }
                outcome = "HTTP " + res.statusCode();
                retry = res.statusCode() >= 500 || res.statusCode() == 408 || res.statusCode() == 429;
            }
        } catch (dev.gpudev.core.ValidationException e) {
            outcome = e.getMessage();
            retry = false;
        } catch (java.net.http.HttpTimeoutException e) {
            outcome = "no answer within " + DEADLINE.toSeconds() + " s";
        } catch (java.net.ConnectException e) {
            outcome = "could not connect to " + hostOf(d.hook().url());
        } catch (java.io.IOException e) {
            outcome = "the delivery failed (" + e.getClass().getSimpleName().replace("Exception", "") + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // claimed: tried again when the claim lapses
        } catch (RuntimeException e) {
            outcome = "the delivery failed"; // no exception text: it could carry the URL
        }
        Instant next = retry && d.attempts() < RETRIES.size() ? clock.instant().plus(RETRIES.get(d.attempts())) : null;
        String why = outcome;
        db.inTransaction(c -> {
            webhooks.failed(c, d.eventId(), next, why);
            return null;
        });
        log.info("notification {} ({}) not delivered: {}; {}", d.eventId(), d.event(), why, next == null ? "given up" : "tried again at " + next);
    }

    /** Slack's form ({"text": …}) or the plain one (the event, the reservation, the same sentence). */
    static String body(Webhooks.Due d, Reservation r) throws java.io.IOException {
        String text = text(d.event(), d.detail(), r);
        ObjectNode n = JSON.createObjectNode();
        if (d.hook().format().equals("slack")) {
            n.put("text", text);
            return JSON.writeValueAsString(n);
        }
        n.put("event", d.event());
        n.put("text", text);
        ObjectNode res = n.putObject("reservation");
        res.put("job_id", r.id().toString());
        res.put("name", r.name());
        res.put("status", r.status().wire());
        res.put("gpu_type", r.gpuType());
        res.put("gpu_count", r.gpuCount());
        res.put("expires_at", r.expiresAt() == null ? null : r.expiresAt().toString());
        res.put("failure_reason", r.failureReason());
        if (r.lifecycle().runOutcome() != null) {
            res.put("exit_code", r.lifecycle().runOutcome().exitCode()); // a batch run's
        }
        n.set("detail", JSON.readTree(d.detail() == null ? "{}" : d.detail()));
        return JSON.writeValueAsString(n);
    }

    /** The event in one sentence. */
    static String text(String event, String detail, Reservation r) {
        String ref = r.name() != null ? r.name() : r.id().toString().substring(0, 8);
        String what = "gpudev: " + ref + " (" + r.gpuCount() + " × " + r.gpuType() + ")";
        String last = r.history().isEmpty() ? null : r.history().getLast().reason();
        return switch (event) {
            case "started" -> what + " is active" + (r.expiresAt() == null ? "" : " until " + at(r.expiresAt()))
                    + (r.options().run() != null ? ". Its output: gpu-dev logs " + ref + " -f" : ". Connect: gpu-dev connect " + ref
                    + ", or ssh " + (r.name() != null ? "gpudev-" + r.name() : r.environmentName()) + " (after gpu-dev ssh-config)");
            case "ended" -> what + " ended: " + r.status().wire() + (r.failureReason() != null ? " (" + r.failureReason() + ")"
                    : last != null ? " (" + last + ")" : "");
            case "preempted" -> what + " is preempted and ends at " + (r.expiresAt() == null ? "soon" : at(r.expiresAt()))
                    + "; its home is kept";
            case "late" -> what + " still waits: it was first expected to start at " + detailField(detail, "first_estimate") + "; "
                    + (r.detailedStatus() == null ? "gpu-dev show " + ref + " says why" : r.detailedStatus());
            case "expiring" -> what + " expires in " + detailField(detail, "minutes") + " minutes, at " + at(r.expiresAt())
                    + ". Extend it: gpu-dev edit " + ref + " --extend HOURS";
            default -> what + ": " + event;
        };
    }

    /** The host alone (a URL's path may hold its secret). */
    private static String hostOf(String url) {
        try {
            return java.net.URI.create(url).getHost();
        } catch (RuntimeException e) {
            return "its host";
        }
    }

    /** A field of an event's detail ("?" when it is not there). */
    private static String detailField(String detail, String field) {
        try {
            return JSON.readTree(detail).path(field).asText("?");
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static String at(Instant t) {
        return DateTimeFormatter.ISO_INSTANT.format(t);
    }

    @Override
    public void close() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }
}
