package dev.gpudev.api;

import java.time.Clock;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Users;
import dev.gpudev.store.Database;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Command;
import dev.gpudev.core.Extension;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationRequest;
import dev.gpudev.core.ReservationStatus;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reservations ("jobs" on the wire, as the original API named them): submit, list, show, and the
 * changes a user may ask for, each a command the processor applies.
 */
final class JobRoutes {
    private static final Logger log = LoggerFactory.getLogger(JobRoutes.class);

    private final Database db;
    private final Users users;
    private final Reservations reservations;
    private final CommandQueue commands;
    private final Clock clock;
    private final Submission submission;
    private final Views views;
    private final Lookup lookup;

    private final dev.gpudev.core.FairShare.Policy fairShare;

    JobRoutes(Database db, Users users, Reservations reservations, CommandQueue commands, Clock clock, Submission submission, Views views,
              dev.gpudev.core.FairShare.Policy fairShare) {
        this.db = db;
        this.fairShare = fairShare;
        this.users = users;
        this.reservations = reservations;
        this.commands = commands;
        this.clock = clock;
        this.submission = submission;
        this.views = views;
        this.lookup = new Lookup(db, reservations);
    }

    void register(Router r) {
        r.post("/v1/jobs/submit", Access.USER, this::submit);
        r.get("/v1/jobs", Access.USER, this::list);
        r.get("/v1/jobs/{id}", Access.USER, this::show);
        r.post("/v1/jobs/{id}/cancel", Access.USER, this::cancel);
        r.post("/v1/jobs/{id}/extend", Access.USER, this::extend);
        r.post("/v1/jobs/{id}/users", Access.USER, this::addUser);
        r.post("/v1/jobs/{id}/duration", Access.USER, this::resize);
        r.get("/v1/jobs/{id}/logs", Access.USER, this::logs);
        r.put("/v1/builds/{hash}", Access.USER, this::upload);
        r.post("/v1/jobs/{id}/jupyter/enable", Access.USER, ctx -> jupyter(ctx, true));
        r.post("/v1/jobs/{id}/jupyter/disable", Access.USER, ctx -> jupyter(ctx, false));
    }

    /**
     * One reservation; a waiting one also says how firm its estimate is: until when a newcomer with a
     * better claim could still go ahead of it (one aggregate query of the standings).
     */
    private void show(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.visible(who, ctx.pathParam("id"));
        Map<String, Object> out = views.job(r, who);
        if (r.status() == ReservationStatus.QUEUED) {
            java.time.Instant now = clock.instant();
            var standings = db.query(c -> new dev.gpudev.store.GpuHours().standings(c, fairShare, now));
            java.time.Instant until = standings.overtakableUntil(r);
            out.put("estimate_firm_from", until == null ? null : until.isAfter(now) ? until : now);
            String movers = "ends, extensions, bookings and admins' high-priority reservations"
                    + (standings.guarantees().othersOn(r.gpuType(), r.options().team())
                    ? ", and other teams' reservations within their guaranteed " + r.gpuType() + " GPUs," : "");
            out.put("estimate_note", until == null ? "preemptible: any other reservation that arrives goes ahead of it"
                    : until.isAfter(now) ? "until " + until + " a newcomer whose user used less GPU time lately can still go ahead of it;"
                    + " after that only " + movers + " move the estimate"
                    : "firm against fair share: no newcomer goes ahead of it by usage; only " + movers + " move the estimate");
        }
        ctx.json(out);
    }

    /** An ISO-8601 time with its offset (2026-12-04T09:00:00Z), or null. */
    private static java.time.Instant instant(String raw) {
        if (raw == null) {
            return null;
        }
        try {
            return java.time.OffsetDateTime.parse(raw).toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        } catch (java.time.format.DateTimeParseException e) {
            throw ApiError.badRequest("start_at must be a time with its offset, like 2026-12-04T09:00:00Z, not '"
                    + dev.gpudev.core.Names.shown(raw) + "'");
        }
    }

    /** A batch run: {"command": ["python", "train.py"], "workdir": "proj", "keep": false}; null when absent. */
    static dev.gpudev.core.BatchRun run(JsonNode body) {
        JsonNode n = body.get("run");
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw ApiError.badRequest("run must be an object like {\"command\": [\"python\", \"train.py\"], \"workdir\": \"proj\", \"keep\": false}");
        }
        Bodies.only(n, "command", "workdir", "keep");
        JsonNode cmd = n.get("command");
        if (cmd == null || !cmd.isArray()) {
            throw ApiError.badRequest("run.command must be a list of words, like [\"python\", \"train.py\"]");
        }
        java.util.List<String> words = new java.util.ArrayList<>();
        for (JsonNode w : cmd) {
            if (!w.isTextual()) {
                throw ApiError.badRequest("run.command must hold text only, not " + w.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            words.add(w.asText());
            if (words.size() > dev.gpudev.core.BatchRun.MAX_ARGS) {
                break; // the record says why
            }
        }
        return new dev.gpudev.core.BatchRun(words, Bodies.string(n, "workdir", false, 100), Bodies.bool(n, "keep"));
    }

    /**
     * A batch run's output as the platform kept it when the command ended (its last 64 KiB), with where the whole
     * log is in the home; while it runs, the log is read over SSH ({@code gpu-dev logs}). Its owner's (and admins').
     */
    private void logs(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), "read the output of");
        if ("true".equals(ctx.queryParam("build"))) {
            buildLog(ctx, r);
            return;
        }
        var run = r.options().run();
        if (run == null) {
            throw ApiError.badRequest("reservation " + r.id().toString().substring(0, 8) + " is not a batch run (gpu-dev run): it has no output of its own");
        }
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("job_id", r.id());
        out.put("status", r.status().wire());
        out.put("run_state", Views.runState(r));
        out.put("exit_code", r.lifecycle().runOutcome() == null ? null : r.lifecycle().runOutcome().exitCode());
        out.put("log_path", "~/" + dev.gpudev.core.BatchRun.logPath(r.environmentName()));
        out.put("tail", r.lifecycle().runOutcome() == null ? null : db.query(c -> reservations.runLogTail(c, r.id())).orElse(null));
        ctx.json(out);
    }

    /** Contexts being received at once (each is held in memory up to its limit). */
    private static final java.util.concurrent.Semaphore UPLOADS = new java.util.concurrent.Semaphore(4);
    /** Contexts one user may have stored and not built. */
    static final int MAX_UNBUILT_PER_USER = 10;

    /** The most a build's context (its Dockerfile and files, gzip'd tar) may be. */
    static final int MAX_BUILD_CONTEXT = 64 << 20;
    private final dev.gpudev.store.ImageBuilds builds = new dev.gpudev.store.ImageBuilds();

    /**
     * A build's context, stored under its hash (what {@code reserve --dockerfile} sends before its submit): the
     * body is the gzip'd tar itself, its SHA-256 must be the hash in the path. Stored once; sending it again is a no-op.
     */
    private void upload(Context ctx) {
        Caller who = Callers.of(ctx);
        String hash = ctx.pathParam("hash");
        if (!hash.matches("sha256:[0-9a-f]{64}")) {
            throw ApiError.badRequest("a build's hash is sha256: and 64 lower-case hex digits, the SHA-256 of its context (a gzip'd tar)");
        }
        if (ctx.req().getContentLengthLong() > MAX_BUILD_CONTEXT) {
            throw new ApiError(413, "payload_too_large", "a build's context is at most " + (MAX_BUILD_CONTEXT >> 20) + " MiB (gzip'd)");
        }
        int waiting = db.query(c -> builds.unbuiltOf(c, who.userId()));
        if (waiting >= MAX_UNBUILT_PER_USER) {
            throw new ApiError(429, "too_many_builds", "you have " + waiting + " build contexts sent and not built: reserve with them, or wait");
        }
        if (!UPLOADS.tryAcquire()) {
            throw new ApiError(503, "busy", "too many build contexts are being sent at once: try again in a moment");
        }
        byte[] bytes;
        try (var in = ctx.req().getInputStream()) {
            bytes = in.readNBytes(MAX_BUILD_CONTEXT + 1);
        } catch (java.io.IOException e) {
            throw ApiError.badRequest("the build's context could not be read: " + e.getMessage());
        } finally {
            UPLOADS.release();
        }
        if (bytes.length > MAX_BUILD_CONTEXT) {
            throw new ApiError(413, "payload_too_large", "a build's context is at most " + (MAX_BUILD_CONTEXT >> 20)
                    + " MiB (gzip'd): leave out what the image does not need (a .dockerignore is honoured)");
        }
        if (bytes.length == 0) {
            throw ApiError.badRequest("a build's context is a gzip'd tar (Content-Type: application/gzip): this one is empty");
        }
        String actual = "sha256:" + dev.gpudev.core.Tokens.sha256Hex(bytes);
        if (!actual.equals(hash)) {
            throw ApiError.badRequest("the context's SHA-256 is " + actual + ", not the " + hash + " in the path");
        }
        boolean stored = db.query(c -> builds.put(c, hash, bytes, who.userId()));
        ctx.status(stored ? 201 : 200).json(Map.of("hash", hash, "size", bytes.length, "stored", stored));
    }

    /** A reservation's image build: how it stands, why it failed, its log's end. */
    private void buildLog(Context ctx, Reservation r) {
        String image = r.options().image();
        if (image == null || !image.startsWith(Submission.BUILD)) {
            throw ApiError.badRequest("reservation " + r.id().toString().substring(0, 8) + " was not built from a Dockerfile (gpu-dev reserve --dockerfile)");
        }
        String hash = image.substring(Submission.BUILD.length());
        var build = db.query(c -> builds.find(c, hash));
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("job_id", r.id());
        out.put("build", hash);
        out.put("state", build.map(b -> b.built() ? "built" : b.failure() != null ? "failed" : "building").orElse("missing"));
        out.put("image", build.map(dev.gpudev.store.ImageBuilds.Build::image).orElse(null));
        out.put("failure", build.map(dev.gpudev.store.ImageBuilds.Build::failure).orElse(null));
        out.put("tail", build.map(dev.gpudev.store.ImageBuilds.Build::log).orElse(null));
        ctx.json(out);
    }

    private void submit(Context ctx) {
        Caller who = Callers.of(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "gpu_type", "gpu_count", "duration_hours", "name", "disk_name", "no_persist",
                "image", "jupyter", "distributed", "node_labels", "dry_run", "keep_when_idle", "priority_class", "start_at", "team", "env", "run",
                "build");
        String idempotencyKey = ctx.header("Idempotency-Key");
        if (idempotencyKey != null && !idempotencyKey.matches("[A-Za-z0-9._:-]{1,128}")) {
            throw ApiError.badRequest("Idempotency-Key must be 1-128 of letters, digits and . _ : -");
        }
        var request = new Submission.Request(
                new ReservationRequest(Bodies.string(body, "gpu_type", true, 80), Bodies.integer(body, "gpu_count", true),
                        Bodies.decimal(body, "duration_hours", true), Bodies.string(body, "name", false, 63), Bodies.bool(body, "distributed")),
                new Reservation.Options(Bodies.string(body, "disk_name", false, 63), Bodies.bool(body, "no_persist"),
                        image(body), Bodies.labels(body, "node_labels"))
                        .withPriority(dev.gpudev.core.PriorityClass.of(Bodies.string(body, "priority_class", false, 16)))
                        .withStartAt(instant(Bodies.string(body, "start_at", false, 40)))
                        .withTeam(Bodies.string(body, "team", false, 63))
                        .withEnv(new dev.gpudev.core.EnvVars(Bodies.labels(body, "env")))
                        .withRun(run(body)),
                Bodies.bool(body, "jupyter"), Bodies.bool(body, "keep_when_idle"), idempotencyKey, Bodies.bool(body, "dry_run"));
        // A new reservation's audit entry is written with it (one commit); other outcomes are audited after the response.
        switch (submission.submit(who, request, id -> Audit.entry(ctx, who, null, Audit.of("reservation", id), 201, clock.instant()))) {
            case Submission.Outcome.Estimate e -> ctx.json(e.estimate());
            case Submission.Outcome.Repeated r -> {
                Audit.target(ctx, "reservation", r.reservation().id());
                ctx.status(200).json(views.job(r.reservation(), who));
            }
            case Submission.Outcome.Created c -> {
                ctx.attribute(Audit.WRITTEN, true);
                ctx.status(201).json(views.job(c.reservation(), who));
            }
        }
    }

    /** The image asked for: a reference, or a build of an uploaded Dockerfile ("build": "sha256:..."), not both. */
    private String image(JsonNode body) {
        String image = Bodies.string(body, "image", false, 255);
        String build = Bodies.string(body, "build", false, 71);
        if (image != null && image.startsWith(Submission.BUILD)) {
            throw ApiError.badRequest("an image reference does not start with 'build:': name a build with \"build\"");
        }
        if (build == null) {
            return image;
        }
        if (image != null) {
            throw ApiError.badRequest("name an image or a build (a Dockerfile), not both");
        }
        if (!build.matches("sha256:[0-9a-f]{64}")) {
            throw ApiError.badRequest("a build is named by its context's hash: sha256: and 64 lower-case hex digits");
        }
        var stored = db.query(c -> builds.find(c, build));
        if (stored.isEmpty()) {
            throw new ApiError(422, "unknown_build", "no build context " + build + " is stored: send it first (PUT /v1/builds/" + build + ")");
        }
        // its FROM images come from allowed registries, as --image's does: refused now, not after a wait
        byte[] context = db.query(c -> builds.context(c, build)).orElseThrow();
        try {
            for (String base : dev.gpudev.core.Dockerfiles.bases(dev.gpudev.core.Dockerfiles.dockerfileOf(context))) {
                String refused = dev.gpudev.core.ImageRef.refused(base, submission.allowedRegistries());
                if (refused != null) {
                    throw new ApiError(422, "image_not_allowed", "the Dockerfile's FROM " + base + ": " + refused);
                }
            }
        } catch (IllegalArgumentException e) {
            throw new ApiError(422, "bad_dockerfile", e.getMessage());
        }
        if (stored.get().failure() != null) {
            db.query(c -> {
                builds.retry(c, build); // asked again: built again (a failure may have been the machine's)
                return null;
            });
        }
        return Submission.BUILD + build;
    }

    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        List<ReservationStatus> statuses = new ArrayList<>();
        String s = Bodies.queryText(ctx.queryParam("status"), "status", 200);
        if (s != null && !s.isBlank()) {
            for (String part : s.split(",")) {
                statuses.add(ReservationStatus.parse(part));
            }
        }
        int limit = Params.boundedInt(ctx.queryParam("limit"), 50, 1, 500, "limit");
        int offset = Params.boundedInt(ctx.queryParam("offset"), 0, 0, 1_000_000, "offset");
        boolean all = "true".equals(ctx.queryParam("all_users")) && who.admin();
        record Page(List<Reservation> rows, int total) {
        }
        var page = db.query(c -> {
            var rows = reservations.list(c, all ? null : who.userId(), statuses, limit, offset);
            // the count only when the page may not be all of it (the original's clients read "total")
            int total = offset == 0 && rows.size() < limit ? rows.size() : reservations.count(c, all ? null : who.userId(), statuses);
            return new Page(rows, total);
        });
        ctx.json(Map.of("jobs", page.rows().stream().map(r -> views.job(r, who)).toList(), "total", page.total(), "limit", limit,
                "offset", offset));
    }

    private void cancel(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), "cancel");
        Audit.target(ctx, "reservation", r.id());
        if (r.status().isTerminal()) {
            throw new IllegalTransitionException("reservation " + r.id() + " is already " + r.status().wire());
        }
        send(new Command.Cancel(r.id(), who.username()));
        log.info("user '{}' asked to cancel {}", who.username(), r.id());
        ctx.status(202).json(Map.of("job_id", r.id(), "status", r.status().wire(), "message", "cancellation requested"));
    }

    private void extend(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), "extend");
        Audit.target(ctx, "reservation", r.id());
        var hours = Bodies.decimal(Bodies.only(Bodies.json(ctx), "extension_hours"), "extension_hours", true);
        // The processor's own rule: what it would refuse is refused here, with its reason.
        var total = Extension.newDuration(r, hours, clock.instant());
        send(new Command.Extend(r.id(), who.username(), hours));
        log.info("user '{}' asked to extend {} by {} h", who.username(), r.id(), hours.toPlainString());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", r.id());
        out.put("status", r.status().wire());
        out.put("duration_hours", total.stripTrailingZeros());
        out.put("expires_at", r.launchedAt() == null ? null : r.launchedAt().plus(Extension.toDuration(total)));
        out.put("message", "extension requested");
        ctx.status(202).json(out);
    }

    /** A waiting reservation's duration changed; it keeps its place in line. */
    private void resize(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), "change");
        Audit.target(ctx, "reservation", r.id());
        var hours = Bodies.decimal(Bodies.only(Bodies.json(ctx), "duration_hours"), "duration_hours", true);
        String meaning = submission.resize(who, r, hours);
        log.info("user '{}' asked to change {} to {} h", who.username(), r.id(), hours.toPlainString());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", r.id());
        out.put("status", r.status().wire());
        out.put("duration_hours", hours.stripTrailingZeros());
        out.put("message", meaning);
        ctx.status(202).json(out);
    }

    private void addUser(Context ctx) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), "add users to");
        Audit.target(ctx, "reservation", r.id());
        requireLive(r);
        String username = Bodies.string(Bodies.only(Bodies.json(ctx), "username"), "username", true, 64);
        var user = db.query(c -> users.findByName(c, username));
        if (user.isEmpty() || !user.get().active()) {
            throw ApiError.notFound("no user '" + ApiError.shown(username) + "': they must log in once before they can be added");
        }
        if (user.get().userId() == r.userId()) {
            throw new ApiError(409, "conflict", username + " owns this reservation already");
        }
        send(new Command.AddUser(r.id(), who.username(), username));
        log.info("user '{}' adds '{}' to {}", who.username(), username, r.id());
        ctx.status(202).json(Map.of("job_id", r.id(), "username", username, "message", "user will be added"));
    }

    private void jupyter(Context ctx, boolean on) {
        Caller who = Callers.of(ctx);
        Reservation r = lookup.owned(who, ctx.pathParam("id"), on ? "enable Jupyter on" : "disable Jupyter on");
        Audit.target(ctx, "reservation", r.id());
        requireLive(r);
        send(new Command.Jupyter(r.id(), who.username(), on));
        ctx.status(202).json(Map.of("job_id", r.id(), "jupyter", on, "message", "jupyter will be " + (on ? "enabled" : "disabled")));
    }

    private void send(Command command) {
        db.inTransaction(c -> commands.send(c, command));
    }

    private static void requireLive(Reservation r) {
        if (r.status().isTerminal()) {
            throw new IllegalTransitionException("reservation " + r.id() + " is " + r.status().wire());
        }
    }
}
