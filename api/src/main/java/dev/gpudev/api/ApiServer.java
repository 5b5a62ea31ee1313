package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.GpuType;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationRequest;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.SshPublicKey;
import dev.gpudev.core.StatusChange;
import dev.gpudev.core.Tokens;
import dev.gpudev.core.ValidationException;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Json;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.StoreException;
import dev.gpudev.store.User;
import dev.gpudev.store.Users;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/** The HTTP API: every route registered here, in one place; handlers are small functions. */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    private static final int MAX_BODY_BYTES = 64 * 1024;
    private static final String CALLER = "gpudev.caller";

    /** The API's collaborators, grouped so the constructor stays short. */
    public record Parts(Database db, Users users, ApiKeys apiKeys, SshKeys sshKeys, Reservations reservations,
                        Pgmq pgmq, CommandQueue commands, GpuCatalog catalog, Supplier<Capacity> capacity,
                        Clock clock, ApiConfig config, AuditLog audit) {
    }

    private static final String STARTED = "gpudev.started";
    private static final String REQUEST_ID = "gpudev.request-id";
    private static final String AUDIT_USER = "gpudev.audit-user";

    private final Parts p;
    private final Javalin app;
    private final List<String> routes = new ArrayList<>();
    private final Metrics metrics = new Metrics();
    private final RateLimiter perKey;
    private final RateLimiter perAddress;
    private final AwsLogin awsLogin;
    private final AuditWriter auditWriter;
    /** Wakes the processors after each submit's commit, merging bursts into one notification. */
    private final dev.gpudev.store.Notifications.Coalescer wakeUps;
    private final dev.gpudev.store.Disks disks = new dev.gpudev.store.Disks();

    public ApiServer(Parts parts) {
        this.p = parts;
        this.perKey = new RateLimiter(parts.config().rateLimitPerKey(), parts.config().rateLimitPerKey() * 2, parts.clock());
        this.awsLogin = new AwsLogin(parts.config().aws());
        this.auditWriter = new AuditWriter(parts.db(), parts.audit());
        this.wakeUps = new dev.gpudev.store.Notifications.Coalescer(parts.db());
        this.perAddress = new RateLimiter(parts.config().rateLimitPerAddress(), parts.config().rateLimitPerAddress() * 2, parts.clock());
        this.app = Javalin.create(cfg -> {
            cfg.useVirtualThreads = true;
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = MAX_BODY_BYTES;
            cfg.jsonMapper(new JavalinJackson(Json.MAPPER, true));
            cfg.staticFiles.add(sf -> {
                sf.hostedPath = "/docs/assets";
                sf.directory = "/META-INF/resources/webjars/swagger-ui/" + SWAGGER_UI_VERSION;
                sf.location = io.javalin.http.staticfiles.Location.CLASSPATH;
            });
        });
        app.before(this::before);
        app.after(this::after);
        registerRoutes();
        errors();
    }

    static final String SWAGGER_UI_VERSION = "5.34.1";

    private void registerRoutes() {
        get("/", ctx -> ctx.json(Map.of("service", "gpudev", "api", "/v1", "health", "/health", "docs", "/docs")));
        get("/health", this::health);
        get("/openapi.json", ctx -> ctx.contentType("application/json").result(OpenApi.document()));
        get("/docs", ctx -> ctx.html(OpenApi.swaggerPage()));
        get("/metrics", this::metrics);
        post("/v1/auth/token-login", this::tokenLogin);
        post("/v1/auth/aws-login", this::awsLogin);
        post("/v1/keys/rotate", this::rotateKey);
        get("/v1/keys", this::listKeys);
        delete("/v1/keys/{id}", this::revokeKey);
        post("/v1/admin/invites", this::createInvite);
        get("/v1/audit", this::audit);
        get("/v1/disks", this::listDisks);
        post("/v1/disks", this::createDisk);
        delete("/v1/disks/{name}", this::deleteDisk);
        post("/v1/disks/{name}/rename", this::renameDisk);
        post("/v1/disks/{name}/list-content", this::listDiskContent);
        get("/v1/disk-operations/{id}", this::diskOperation);
        post("/v1/ssh-keys", this::addSshKey);
        get("/v1/ssh-keys", this::listSshKeys);
        delete("/v1/ssh-keys/{id}", this::deleteSshKey);
        post("/v1/jobs/submit", this::submit);
        get("/v1/jobs", this::listJobs);
        get("/v1/jobs/{id}", ctx -> ctx.json(view(findVisible(ctx, ctx.pathParam("id")), caller(ctx))));
        post("/v1/jobs/{id}/cancel", this::cancel);
        post("/v1/jobs/{id}/extend", this::extend);
        post("/v1/jobs/{id}/users", this::addUser);
        post("/v1/jobs/{id}/jupyter/enable", ctx -> jupyter(ctx, true));
        post("/v1/jobs/{id}/jupyter/disable", ctx -> jupyter(ctx, false));
        get("/v1/cluster/status", this::clusterStatus);
        get("/v1/gpu/availability", this::availability);
    }

    private void get(String path, io.javalin.http.Handler h) {
        routes.add("GET " + path);
        app.get(path, h);
    }

    private void post(String path, io.javalin.http.Handler h) {
        routes.add("POST " + path);
        app.post(path, h);
    }

    private void delete(String path, io.javalin.http.Handler h) {
        routes.add("DELETE " + path);
        app.delete(path, h);
    }

    /** Every route, as "METHOD /path/{param}": the OpenAPI document must name exactly these. */
    public List<String> registeredRoutes() {
        return List.copyOf(routes);
    }

    private void before(Context ctx) {
        ctx.attribute(STARTED, System.nanoTime());
        String id = ctx.header("X-Request-Id");
        if (id == null || !id.matches("[A-Za-z0-9._-]{1,64}")) {
            id = UUID.randomUUID().toString();
        }
        ctx.attribute(REQUEST_ID, id);
        ctx.header("X-Request-Id", id);
        org.slf4j.MDC.put("request_id", id);
        long wait = perAddress.acquire("addr:" + ctx.ip());
        if (wait > 0) {
            ctx.header("Retry-After", Long.toString(wait));
            throw new ApiError(429, "rate_limited", "too many requests from " + ctx.ip() + "; retry in " + wait + " s");
        }
    }

    private void after(Context ctx) {
        try {
            measureAndAudit(ctx);
        } finally {
            org.slf4j.MDC.remove("request_id");
        }
    }

    private void measureAndAudit(Context ctx) {
        Long started = ctx.attribute(STARTED);
        String route = routeOf(ctx);
        if (started != null) {
            metrics.observe(ctx.method().name(), route, ctx.statusCode(), (System.nanoTime() - started) / 1e9);
        }
        String method = ctx.method().name();
        if (method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS")) {
            return;
        }
        Caller who = ctx.attribute(CALLER);
        String username = who != null ? who.username() : ctx.attribute(AUDIT_USER);
        String target = ctx.pathParamMap().getOrDefault("id", null);
        auditWriter.write(new AuditLog.Entry(0, p.clock().instant(), who == null ? null : who.userId(), username,
                method + " " + route, target, ctx.ip(), ctx.statusCode(), ctx.attribute(REQUEST_ID)));
    }

    private static String routeOf(Context ctx) {
        try {
            String path = ctx.endpointHandlerPath();
            return path == null || path.isEmpty() ? "unmatched" : path;
        } catch (RuntimeException e) {
            return "unmatched";
        }
    }

    private void errors() {
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.code(), e.getMessage()));
        app.exception(ValidationException.class, (e, ctx) -> error(ctx, 400, "invalid_request", e.getMessage()));
        app.exception(IllegalTransitionException.class, (e, ctx) -> error(ctx, 409, "conflict", e.getMessage()));
        app.exception(StoreException.class, (e, ctx) -> {
            log.error("database error on {} {}: {}", ctx.method(), ctx.path(), e.getMessage());
            if (e.isUnavailable()) {
                error(ctx, 503, "unavailable", "the database is not reachable right now; try again shortly");
            } else {
                error(ctx, 500, "internal", "internal error; the server log has the details");
            }
        });
        app.exception(Exception.class, (e, ctx) -> {
            log.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, 500, "internal", "internal error; the server log has the details");
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().startsWith("{\"error\"")) {
                error(ctx, 404, "not_found", "no such endpoint: " + ctx.method() + " " + ctx.path());
            }
        });
        app.error(405, ctx -> error(ctx, 405, "method_not_allowed", ctx.method() + " is not allowed on " + ctx.path()));
        app.error(413, ctx -> error(ctx, 413, "payload_too_large", "the body is larger than " + MAX_BODY_BYTES + " bytes"));
    }

    private static void error(Context ctx, int status, String code, String message) {
        ctx.status(status).contentType("application/json").result(Json.write(Map.of("error", code, "message", message)));
    }

    public ApiServer start(String host, int port) {
        app.start(host, port);
        return this;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
        auditWriter.close();
        wakeUps.close();
    }

    // --- auth ---------------------------------------------------------------------------------

    private Caller caller(Context ctx) {
        Caller cached = ctx.attribute(CALLER);
        if (cached != null) {
            return cached;
        }
        String header = ctx.header("Authorization");
        String key = null;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            key = header.substring(7).trim();
        } else if (ctx.header("X-API-Key") != null) {
            key = ctx.header("X-API-Key").trim();
        }
        if (key == null || key.isEmpty()) {
            throw ApiError.unauthorized("no API key: run `gpu-dev login` first (send it as Authorization: Bearer KEY)");
        }
        if (key.length() > 512) {
            throw ApiError.unauthorized("unknown API key: run `gpu-dev login`");
        }
        String hash = Tokens.sha256Hex(key);
        long wait = perKey.acquire("key:" + hash);
        if (wait > 0) {
            ctx.header("Retry-After", Long.toString(wait));
            throw new ApiError(429, "rate_limited", "too many requests with this API key; retry in " + wait + " s");
        }
        Instant now = p.clock().instant();
        Caller c = p.db().query(conn -> {
            ApiKeys.Key k = p.apiKeys().findByHash(conn, hash)
                    .orElseThrow(() -> ApiError.unauthorized("unknown API key: run `gpu-dev login`"));
            if (!k.active()) {
                throw ApiError.forbidden("this API key was revoked: run `gpu-dev login`");
            }
            if (!k.userActive()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            if (k.expiresAt() != null && !k.expiresAt().isAfter(now)) {
                throw ApiError.forbidden("this API key expired at " + k.expiresAt() + ": run `gpu-dev login` again");
            }
            if (k.lastUsedAt() == null || k.lastUsedAt().isBefore(now.minusSeconds(60))) {
                p.apiKeys().touch(conn, k.keyId(), now);
            }
            return new Caller(k.userId(), k.username(), k.admin(), k.keyId());
        });
        ctx.attribute(CALLER, c);
        return c;
    }

    private void health(Context ctx) {
        boolean dbOk = p.db().isHealthy();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", dbOk ? "ok" : "degraded");
        out.put("database", dbOk ? "ok" : "unreachable");
        if (dbOk) {
            var m = p.db().query(c -> p.pgmq().metrics(c, p.commands().queue()));
            out.put("queue", Map.of("name", m.queueName(), "length", m.queueLength(),
                    "oldest_msg_age_sec", m.oldestMsgAgeSec() == null ? 0 : m.oldestMsgAgeSec()));
        } else {
            out.put("queue", "unknown");
        }
        ctx.status(dbOk ? 200 : 503).json(out);
    }

    private void tokenLogin(Context ctx) {
        JsonNode body = Bodies.only(Bodies.json(ctx), "token");
        String token = Bodies.string(body, "token", true, 512);
        Instant now = p.clock().instant();
        Map<String, Object> out = p.db().inTransaction(c -> {
            Users.Invite invite = p.users().lockInvite(c, Tokens.sha256Hex(token.trim()))
                    .orElseThrow(() -> ApiError.unauthorized("unknown login token: ask an admin for `gpu-dev admin invite`"));
            if (!invite.reusable() && invite.usedAt() != null) {
                throw ApiError.unauthorized("this login token was already used: ask an admin for a new one");
            }
            if (invite.expiresAt() != null && !invite.expiresAt().isAfter(now)) {
                throw ApiError.unauthorized("this login token expired: ask an admin for a new one");
            }
            User user = p.users().ensure(c, invite.username(), invite.admin());
            if (!user.active()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            if (!invite.reusable()) {
                p.users().markInviteUsed(c, invite.inviteId(), now);
            }
            return issueKey(c, user, now, "token login");
        });
        ctx.attribute(AUDIT_USER, (String) out.get("username"));
        log.info("login: user '{}' via token", out.get("username"));
        ctx.json(out);
    }

    private void awsLogin(Context ctx) {
        JsonNode body = Bodies.only(Bodies.json(ctx), "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "sts_request");
        AwsLogin.Identity id;
        JsonNode signed = body.get("sts_request");
        if (signed != null && !signed.isNull()) {
            if (!signed.isObject() || !signed.path("headers").isObject()) {
                throw ApiError.badRequest("sts_request must be {url, headers, body}");
            }
            Map<String, String> headers = new LinkedHashMap<>();
            signed.get("headers").fields().forEachRemaining(e -> {
                if (!e.getValue().isTextual()) {
                    throw ApiError.badRequest("sts_request.headers values must be strings");
                }
                headers.put(e.getKey(), e.getValue().asText());
            });
            if (headers.size() > 30) {
                throw ApiError.badRequest("sts_request.headers has too many headers");
            }
            id = awsLogin.withSignedRequest(Bodies.string(signed, "url", true, 512), headers, Bodies.string(signed, "body", true, 512));
        } else {
            String akid = Bodies.string(body, "aws_access_key_id", true, 128);
            String secret = Bodies.string(body, "aws_secret_access_key", true, 256);
            String token = Bodies.string(body, "aws_session_token", false, 4096);
            id = awsLogin.withCredentials(akid, secret, token);
        }
        Instant now = p.clock().instant();
        Map<String, Object> out = p.db().inTransaction(c -> {
            User user = p.users().ensure(c, id.username(), false);
            if (!user.active()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            Map<String, Object> issued = issueKey(c, user, now, "aws login as " + id.arn());
            issued.put("aws_arn", id.arn());
            return issued;
        });
        ctx.attribute(AUDIT_USER, id.username());
        log.info("login: user '{}' via AWS ({})", id.username(), id.arn());
        ctx.json(out);
    }

    private Map<String, Object> issueKey(Connection c, User user, Instant now, String description) throws SQLException {
        String key = Tokens.newSecret();
        Instant expires = now.plus(Duration.ofHours(p.config().apiKeyTtlHours()));
        p.apiKeys().insert(c, user.userId(), Tokens.sha256Hex(key), Tokens.prefix(key), expires, description);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("api_key", key);
        out.put("key_prefix", Tokens.prefix(key));
        out.put("user_id", user.userId());
        out.put("username", user.username());
        out.put("is_admin", user.admin());
        out.put("expires_at", expires);
        out.put("ttl_hours", p.config().apiKeyTtlHours());
        return out;
    }

    private void createInvite(Context ctx) {
        Caller who = caller(ctx);
        if (!who.admin()) {
            throw ApiError.forbidden("only admins can invite users");
        }
        JsonNode body = Bodies.only(Bodies.json(ctx), "username", "expires_in_hours");
        String username = Bodies.string(body, "username", true, 64);
        if (!username.matches("[a-zA-Z0-9._-]{1,64}")) {
            throw ApiError.badRequest("username may only use letters, digits, '.', '_' and '-' (1-64)");
        }
        Integer hours = Bodies.integer(body, "expires_in_hours", false);
        int ttl = hours == null ? 72 : hours;
        if (ttl < 1 || ttl > 24 * 30) {
            throw ApiError.badRequest("expires_in_hours must be 1-720");
        }
        String token = Tokens.newSecret();
        Instant expires = p.clock().instant().plus(Duration.ofHours(ttl));
        p.db().inTransaction(c -> {
            p.users().createInvite(c, Tokens.sha256Hex(token), username, false, false, who.userId(), expires);
            return null;
        });
        log.info("admin '{}' invited '{}'", who.username(), username);
        ctx.status(201).json(Map.of("token", token, "username", username, "expires_at", expires));
    }

    // --- keys ---------------------------------------------------------------------------------

    private void rotateKey(Context ctx) {
        Caller who = caller(ctx);
        boolean revokeOld = Bodies.bool(Bodies.only(Bodies.json(ctx), "revoke_old"), "revoke_old");
        Instant now = p.clock().instant();
        Map<String, Object> out = p.db().inTransaction(c -> {
            User user = p.users().findById(c, who.userId()).orElseThrow();
            Map<String, Object> issued = issueKey(c, user, now, "rotated from key " + who.keyId());
            if (revokeOld) {
                p.apiKeys().revoke(c, who.keyId(), who.userId());
            }
            return issued;
        });
        out.put("old_key_revoked", revokeOld);
        ctx.json(out);
    }

    private void listKeys(Context ctx) {
        Caller who = caller(ctx);
        var keys = p.db().query(c -> p.apiKeys().forUser(c, who.userId()));
        ctx.json(Map.of("keys", keys.stream().map(k -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key_id", k.keyId());
            m.put("key_prefix", k.keyPrefix());
            m.put("created_at", k.createdAt());
            m.put("expires_at", k.expiresAt());
            m.put("last_used_at", k.lastUsedAt());
            m.put("is_active", k.active());
            m.put("current", k.keyId() == who.keyId());
            return m;
        }).toList()));
    }

    private void revokeKey(Context ctx) {
        Caller who = caller(ctx);
        long id = parseLong(ctx.pathParam("id"), "key");
        if (!p.db().query(c -> p.apiKeys().revoke(c, id, who.admin() ? null : who.userId()))) {
            throw ApiError.notFound("no active key " + id + " of yours");
        }
        ctx.status(204);
    }

    private void audit(Context ctx) {
        Caller who = caller(ctx);
        if (!who.admin()) {
            throw ApiError.forbidden("the audit log is for admins");
        }
        Instant since = null;
        String s = ctx.queryParam("since");
        if (s != null && !s.isBlank()) {
            try {
                since = Instant.parse(s);
            } catch (java.time.format.DateTimeParseException e) {
                throw ApiError.badRequest("since must be an ISO-8601 instant, e.g. 2026-01-01T00:00:00Z");
            }
        }
        String user = ctx.queryParam("username");
        String action = ctx.queryParam("action");
        if ((user != null && user.length() > 64) || (action != null && action.length() > 128)) {
            throw ApiError.badRequest("username or action is too long");
        }
        var q = new AuditLog.Query(user, action, since, boundedInt(ctx.queryParam("limit"), 100, 1, 1000, "limit"));
        ctx.json(Map.of("entries", p.db().query(c -> p.audit().find(c, q)).stream().map(e -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("at", e.at());
            m.put("username", e.username());
            m.put("action", e.action());
            m.put("target", e.target());
            m.put("client_address", e.clientAddress());
            m.put("outcome", e.outcome());
            m.put("request_id", e.requestId());
            return m;
        }).toList()));
    }

    // --- metrics ------------------------------------------------------------------------------

    /** Prometheus text. Open to scrapes from this machine; from elsewhere it takes an admin key. */
    private void metrics(Context ctx) {
        String ip = ctx.ip();
        boolean local = ip.equals("127.0.0.1") || ip.equals("0:0:0:0:0:0:0:1") || ip.equals("::1");
        if (!local && !caller(ctx).admin()) {
            throw ApiError.forbidden("metrics are for admins or local scrapes");
        }
        StringBuilder out = new StringBuilder();
        metrics.write(out);
        var m = p.db().query(c -> p.pgmq().metrics(c, p.commands().queue()));
        Metrics.gauge(out, "gpudev_queue_depth", "Commands waiting in the queue.", Map.of("", m.queueLength()), null);
        Metrics.gauge(out, "gpudev_queue_oldest_message_age_seconds", "Age of the oldest queued command.",
                Map.of("", m.oldestMsgAgeSec() == null ? 0 : m.oldestMsgAgeSec()), null);
        var live = p.db().query(c -> p.reservations().withStatus(c, ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        Map<String, Number> byState = new LinkedHashMap<>();
        for (ReservationStatus st : List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE)) {
            byState.put(st.wire(), live.stream().filter(r -> r.status() == st).count());
        }
        Metrics.gauge(out, "gpudev_reservations", "Live reservations by state.", byState, "state");
        Capacity capacity = p.capacity().get();
        Map<String, Number> inUse = new LinkedHashMap<>();
        Map<String, Number> free = new LinkedHashMap<>();
        for (String type : capacity.nodes().stream().map(Capacity.Node::gpuType).distinct().toList()) {
            int used = gpusInUse(live, type);
            inUse.put(type, used);
            free.put(type, Math.max(0, capacity.totalGpus(type) - used));
        }
        Metrics.gauge(out, "gpudev_gpus_in_use", "GPUs held by reservations, by type.", inUse, "gpu_type");
        Metrics.gauge(out, "gpudev_gpus_free", "GPUs free, by type.", free, "gpu_type");
        ctx.contentType("text/plain; version=0.0.4").result(out.toString());
    }

    // --- disks --------------------------------------------------------------------------------

    private void listDisks(Context ctx) {
        Caller who = caller(ctx);
        ctx.json(Map.of("disks", p.db().query(c -> disks.forUser(c, who.userId())).stream().map(d -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", d.name());
            m.put("created_at", d.createdAt());
            m.put("last_used_at", d.lastUsedAt());
            m.put("in_use_by", d.inUseBy());
            return m;
        }).toList()));
    }

    private void createDisk(Context ctx) {
        Caller who = caller(ctx);
        String name = Bodies.string(Bodies.only(Bodies.json(ctx), "name"), "name", true, 63);
        new Reservation.Options(name, false, null, Map.of()).validate();
        p.db().inTransaction(c -> {
            if (disks.lockIfExists(c, who.userId(), name)) {
                throw new ApiError(409, "conflict", "you already have a disk named " + name);
            }
            disks.use(c, who.userId(), name);
            return null;
        });
        ctx.status(201).json(Map.of("name", name, "message", "created; its directory appears on first use"));
    }

    private void deleteDisk(Context ctx) {
        Caller who = caller(ctx);
        String name = p.db().inTransaction(c -> {
            String own = ownDisk(c, who, ctx.pathParam("name"));
            if (disks.wanted(c, who.userId(), own)) {
                throw new ApiError(409, "conflict", "disk " + own + " is used by a live or waiting reservation: cancel it first");
            }
            disks.delete(c, who.userId(), own);
            // The files are the backend's: the processor deletes them, after this commit.
            p.commands().send(c, new CommandQueue.Command(CommandQueue.Type.delete_disk, null, who.username(), null, own));
            return own;
        });
        ctx.status(202).json(Map.of("name", name, "message", "disk deleted; its files are being removed"));
    }

    /** A disk name from the path: one of the caller's disks, or 404. */
    private String ownDisk(Connection c, Caller who, String name) throws java.sql.SQLException {
        if (name.length() > 63 || !disks.lockIfExists(c, who.userId(), name)) {
            throw ApiError.notFound("you have no disk " + (name.length() > 20 ? name.substring(0, 20) + "…" : name)
                    + ": see `gpu-dev disk list`");
        }
        return name;
    }

    private void renameDisk(Context ctx) {
        Caller who = caller(ctx);
        String to = Bodies.string(Bodies.only(Bodies.json(ctx), "new_name"), "new_name", true, 63);
        new Reservation.Options(to, false, null, Map.of()).validate();
        long id = p.db().inTransaction(c -> {
            String from = ownDisk(c, who, ctx.pathParam("name"));
            if (from.equals(to)) {
                throw new ApiError(409, "conflict", "disk " + from + " has that name already");
            }
            if (disks.lockIfExists(c, who.userId(), to)) {
                throw new ApiError(409, "conflict", "you already have a disk named " + to);
            }
            if (disks.wanted(c, who.userId(), from)) {
                throw new ApiError(409, "conflict", "disk " + from + " is used by a live or waiting reservation: cancel it first");
            }
            if (disks.renamePending(c, who.userId(), from)) {
                throw new ApiError(409, "conflict", "disk " + from + " is being renamed already");
            }
            long op = disks.requestOperation(c, who.userId(), from, "rename", to);
            p.commands().send(c, CommandQueue.Command.diskOperation(op, who.username()));
            return op;
        });
        ctx.status(202).json(operationView(p.db().query(c -> disks.operation(c, who.userId(), id)).orElseThrow()));
    }

    private void listDiskContent(Context ctx) {
        Caller who = caller(ctx);
        long id = p.db().inTransaction(c -> {
            String name = ownDisk(c, who, ctx.pathParam("name"));
            long op = disks.requestOperation(c, who.userId(), name, "list_content", null);
            p.commands().send(c, CommandQueue.Command.diskOperation(op, who.username()));
            return op;
        });
        ctx.status(202).json(operationView(p.db().query(c -> disks.operation(c, who.userId(), id)).orElseThrow()));
    }

    private void diskOperation(Context ctx) {
        Caller who = caller(ctx);
        long id = parseLong(ctx.pathParam("id"), "disk operation");
        var op = p.db().query(c -> disks.operation(c, who.admin() ? null : who.userId(), id))
                .orElseThrow(() -> ApiError.notFound("no disk operation " + id));
        ctx.json(operationView(op));
    }

    private static Map<String, Object> operationView(dev.gpudev.store.Disks.Operation op) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("operation_id", op.id());
        m.put("disk_name", op.disk());
        m.put("operation", op.operation());
        if (op.argument() != null) {
            m.put("new_name", op.argument());
        }
        m.put("status", op.status());
        m.put("result", op.resultJson() == null ? null : dev.gpudev.store.Json.read(op.resultJson(), JsonNode.class));
        m.put("error", op.error());
        m.put("created_at", op.createdAt());
        m.put("finished_at", op.finishedAt());
        return m;
    }

    // --- ssh keys -----------------------------------------------------------------------------

    private void addSshKey(Context ctx) {
        Caller who = caller(ctx);
        SshPublicKey key = SshPublicKey.parse(Bodies.string(Bodies.only(Bodies.json(ctx), "public_key"), "public_key", true, 16_384));
        var saved = p.db().inTransaction(c -> {
            if (p.sshKeys().forUser(c, who.userId()).size() >= 50) {
                throw new ApiError(409, "conflict", "you already have 50 SSH keys: delete one first");
            }
            return p.sshKeys().add(c, who.userId(), key.type(), key.line(), key.fingerprint(), key.comment());
        });
        ctx.status(201).json(sshKeyView(saved));
    }

    private void listSshKeys(Context ctx) {
        Caller who = caller(ctx);
        ctx.json(Map.of("keys", p.db().query(c -> p.sshKeys().forUser(c, who.userId())).stream().map(ApiServer::sshKeyView).toList()));
    }

    private void deleteSshKey(Context ctx) {
        Caller who = caller(ctx);
        long id = parseLong(ctx.pathParam("id"), "ssh key id");
        if (!p.db().query(c -> p.sshKeys().delete(c, who.admin() ? null : who.userId(), id))) {
            throw ApiError.notFound("you have no SSH key " + id);
        }
        ctx.status(204);
    }

    private static Map<String, Object> sshKeyView(SshKeys.SshKey k) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", k.id());
        m.put("key_type", k.keyType());
        m.put("fingerprint", k.fingerprint());
        m.put("comment", k.comment());
        m.put("created_at", k.createdAt());
        return m;
    }

    // --- jobs ---------------------------------------------------------------------------------

    private void submit(Context ctx) {
        Caller who = caller(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "gpu_type", "gpu_count", "duration_hours", "name", "disk_name", "no_persist",
                "image", "jupyter", "distributed", "node_labels", "dry_run", "keep_when_idle");
        var request = new ReservationRequest(
                Bodies.string(body, "gpu_type", true, 32),
                Bodies.integer(body, "gpu_count", true),
                Bodies.decimal(body, "duration_hours", true),
                Bodies.string(body, "name", false, 63),
                Bodies.bool(body, "distributed")).validate(p.catalog());
        Capacity capacity = p.capacity().get();
        int max = capacity.maxPerNode(request.gpuType());
        if (max == 0 && p.catalog().find(request.gpuType()).orElseThrow().gpusPerNode() > 0) {
            throw new ApiError(422, "unschedulable", "there are no " + request.gpuType() + " GPUs on this platform: "
                    + "see `gpu-dev avail` for the types it has");
        }
        if (p.config().maxGpusPerUser() > 0 && request.gpuCount() > p.config().maxGpusPerUser()) {
            throw new ApiError(422, "unschedulable", "you may hold at most " + p.config().maxGpusPerUser()
                    + " GPUs at once: ask for fewer");
        }
        if (request.gpuCount() > max && !request.distributed()) {
            throw new ApiError(422, "unschedulable", "no " + request.gpuType() + " node has " + request.gpuCount()
                    + " GPUs (the largest has " + max + "): ask for at most " + max);
        }
        if (request.gpuCount() > max) {
            long whole = capacity.nodes().stream().filter(n -> n.gpuType().equals(request.gpuType()) && n.gpus().size() == max).count();
            if (request.gpuCount() % max != 0 || request.gpuCount() / max > whole) {
                throw new ApiError(422, "unschedulable", "a distributed " + request.gpuType() + " reservation takes whole nodes of " + max
                        + " GPUs, and there are " + whole + ": ask for a multiple of " + max + " up to " + whole * max);
            }
        }
        boolean jupyter = Bodies.bool(body, "jupyter");
        boolean keepWhenIdle = Bodies.bool(body, "keep_when_idle");
        Reservation.Options options = new Reservation.Options(Bodies.string(body, "disk_name", false, 63),
                Bodies.bool(body, "no_persist"), Bodies.string(body, "image", false, 255), Bodies.labels(body, "node_labels")).validate();
        if (!options.nodeLabels().isEmpty()) {
            var matching = capacity.nodes().stream().filter(n -> n.gpuType().equals(request.gpuType()) && n.hasLabels(options.nodeLabels())).toList();
            int largest = matching.stream().mapToInt(n -> n.gpus().size()).max().orElse(0);
            boolean fits = request.gpuCount() <= largest
                    || (request.distributed() && largest > 0 && request.gpuCount() % largest == 0
                        && matching.stream().filter(n -> n.gpus().size() == largest).count() >= request.gpuCount() / largest);
            if (!fits) {
                throw new ApiError(422, "unschedulable", "no " + request.gpuType() + " node" + (request.gpuCount() > 1 ? "s" : "")
                        + " with labels " + options.nodeLabels() + " can hold " + request.gpuCount() + " GPUs ("
                        + matching.size() + " node(s) have those labels)");
            }
        }
        if (Bodies.bool(body, "dry_run")) {
            ctx.json(dryRun(who, request, capacity));
            return;
        }
        String idempotencyKey = ctx.header("Idempotency-Key");
        if (idempotencyKey != null && !idempotencyKey.matches("[A-Za-z0-9._:-]{1,128}")) {
            throw ApiError.badRequest("Idempotency-Key must be 1-128 of letters, digits and . _ : -");
        }
        if (idempotencyKey != null) {
            var first = p.db().query(c -> p.reservations().findByIdempotencyKey(c, who.userId(), idempotencyKey));
            if (first.isPresent()) {
                ctx.status(200).json(view(first.get(), who));
                return;
            }
        }
        Instant now = p.clock().instant();
        UUID id = UUID.randomUUID();
        Reservation r = new Reservation(id, who.userId(), who.username(), ReservationStatus.QUEUED, request.gpuType(),
                request.gpuCount(), request.durationHours().stripTrailingZeros(), request.name(), now, null, null, null, null,
                null, "queued: waiting for the scheduler", null, null,
                List.of(new StatusChange(ReservationStatus.QUEUED, now, "submitted by " + who.username())));
        Map<String, Object> extra = new java.util.HashMap<>();
        if (idempotencyKey != null) {
            extra.put("idempotency_key", idempotencyKey);
        }
        if (jupyter) {
            extra.put("jupyter_enabled", true);
        }
        if (keepWhenIdle) {
            extra.put("idle_opt_out", true); // idle detection neither warns nor releases this one
        }
        if (options.disk() != null) {
            extra.put("disk_name", options.disk());
        }
        if (options.scratch()) {
            extra.put("no_persist", true);
        }
        if (options.image() != null) {
            extra.put("image", options.image());
        }
        if (!options.nodeLabels().isEmpty()) {
            extra.put("node_labels", Reservations.jsonb(options.nodeLabels()));
        }
        // The row and its command are one statement: one round trip in the common case, and a transaction
        // only when a named disk is recorded with it. The wake-up follows the commit.
        boolean written = options.disk() == null
                ? p.db().query(c -> p.commands().submit(c, p.reservations(), r, extra))
                : p.db().inTransaction(c -> {
                    disks.use(c, who.userId(), options.disk());
                    return p.commands().submit(c, p.reservations(), r, extra);
                });
        if (!written) {
            // A unique index refused it: a submit with this Idempotency-Key got there first (return that one),
            // or a live reservation has the name.
            var first = idempotencyKey == null ? Optional.<Reservation>empty()
                    : p.db().query(c -> p.reservations().findByIdempotencyKey(c, who.userId(), idempotencyKey));
            if (first.isPresent()) {
                ctx.status(200).json(view(first.get(), who));
                return;
            }
            throw new ApiError(409, "conflict", request.name() == null ? "a reservation with this Idempotency-Key conflicts: try again"
                    : "you already have a live reservation named '" + request.name() + "': pick another name or cancel that one");
        }
        wakeUps.request();
        // What was written is what is shown: no read back.
        Reservation saved = new Reservation(r.id(), r.userId(), r.username(), r.status(), r.gpuType(), r.gpuCount(), r.durationHours(),
                r.name(), r.createdAt(), null, null, null, null, null, r.detailedStatus(), null,
                new Reservation.Lifecycle(List.of(), null, null, keepWhenIdle, null, jupyter, options), r.history());
        log.info("user '{}' submitted reservation {} ({} x{})", who.username(), id, r.gpuType(), r.gpuCount());
        ctx.status(201).json(view(saved, who));
    }

    /** What would happen: the request is valid and fits; when it would start, given everything ahead of it now. */
    private Map<String, Object> dryRun(Caller who, ReservationRequest request, Capacity capacity) {
        Instant now = p.clock().instant();
        var holding = p.db().query(c -> p.reservations().withStatus(c, ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        var queued = new ArrayList<>(p.db().query(c -> p.reservations().withStatus(c, ReservationStatus.QUEUED)));
        UUID probe = UUID.randomUUID();
        queued.add(new Reservation(probe, who.userId(), who.username(), ReservationStatus.QUEUED, request.gpuType(), request.gpuCount(),
                request.durationHours(), request.name(), now, null, null, null, null, null, null, null, null, List.of()));
        var plan = new dev.gpudev.core.Scheduler(new dev.gpudev.core.Scheduler.Limits(p.config().maxGpusPerUser(), Map.of()))
                .plan(new dev.gpudev.core.Scheduler.Snapshot(capacity, holding), queued, now);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("dry_run", true);
        out.put("valid", true);
        boolean now_ = plan.admissions().stream().anyMatch(a -> a.reservationId().equals(probe));
        out.put("would_start_now", now_);
        var waiting = plan.waiting().stream().filter(w -> w.reservationId().equals(probe)).findFirst();
        out.put("queue_position", waiting.map(dev.gpudev.core.Scheduler.Waiting::position).orElse(null));
        out.put("estimated_start_at", now_ ? now : waiting.map(dev.gpudev.core.Scheduler.Waiting::estimatedStart).orElse(null));
        out.put("pending_reason", waiting.map(w -> w.reason().name()).orElse(null));
        return out;
    }

    private void listJobs(Context ctx) {
        Caller who = caller(ctx);
        List<ReservationStatus> statuses = new ArrayList<>();
        String s = ctx.queryParam("status");
        if (s != null && !s.isBlank()) {
            for (String part : s.split(",")) {
                statuses.add(ReservationStatus.parse(part));
            }
        }
        int limit = boundedInt(ctx.queryParam("limit"), 50, 1, 500, "limit");
        int offset = boundedInt(ctx.queryParam("offset"), 0, 0, 1_000_000, "offset");
        boolean all = "true".equals(ctx.queryParam("all_users")) && who.admin();
        var rows = p.db().query(c -> p.reservations().list(c, all ? null : who.userId(), statuses, limit, offset));
        ctx.json(Map.of("jobs", rows.stream().map(r -> view(r, who)).toList(), "limit", limit, "offset", offset));
    }

    private void cancel(Context ctx) {
        Caller who = caller(ctx);
        Reservation r = findOwned(ctx, who, ctx.pathParam("id"));
        if (r.status().isTerminal()) {
            throw new IllegalTransitionException("reservation " + r.id() + " is already " + r.status().wire());
        }
        p.db().inTransaction(c -> p.commands().send(c, new CommandQueue.Command(CommandQueue.Type.cancel, r.id(), who.username())));
        log.info("user '{}' asked to cancel {}", who.username(), r.id());
        ctx.status(202).json(Map.of("job_id", r.id(), "status", r.status().wire(), "message", "cancellation requested"));
    }

    private void extend(Context ctx) {
        Caller who = caller(ctx);
        Reservation r = findOwned(ctx, who, ctx.pathParam("id"));
        var hours = Bodies.decimal(Bodies.only(Bodies.json(ctx), "extension_hours"), "extension_hours", true);
        var total = dev.gpudev.core.Extension.newDuration(r, hours, p.clock().instant());
        p.db().inTransaction(c -> p.commands().send(c, new CommandQueue.Command(CommandQueue.Type.extend, r.id(), who.username(), hours)));
        log.info("user '{}' asked to extend {} by {} h", who.username(), r.id(), hours.toPlainString());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", r.id());
        out.put("status", r.status().wire());
        out.put("duration_hours", total.stripTrailingZeros());
        out.put("expires_at", r.launchedAt() == null ? null : r.launchedAt().plus(dev.gpudev.core.Extension.toDuration(total)));
        out.put("message", "extension requested");
        ctx.status(202).json(out);
    }

    private void addUser(Context ctx) {
        Caller who = caller(ctx);
        Reservation r = findOwned(ctx, who, ctx.pathParam("id"));
        requireLive(r);
        String username = Bodies.string(Bodies.only(Bodies.json(ctx), "username"), "username", true, 64);
        var user = p.db().query(c -> p.users().findByName(c, username));
        if (user.isEmpty() || !user.get().active()) {
            throw ApiError.notFound("no user '" + username + "': they must log in once before they can be added");
        }
        if (user.get().userId() == r.userId()) {
            throw new ApiError(409, "conflict", username + " owns this reservation already");
        }
        p.db().inTransaction(c -> p.commands().send(c, new CommandQueue.Command(CommandQueue.Type.add_user, r.id(), who.username(), null, username)));
        log.info("user '{}' adds '{}' to {}", who.username(), username, r.id());
        ctx.status(202).json(Map.of("job_id", r.id(), "username", username, "message", "user will be added"));
    }

    private void jupyter(Context ctx, boolean on) {
        Caller who = caller(ctx);
        Reservation r = findOwned(ctx, who, ctx.pathParam("id"));
        requireLive(r);
        p.db().inTransaction(c -> p.commands().send(c, new CommandQueue.Command(
                on ? CommandQueue.Type.jupyter_enable : CommandQueue.Type.jupyter_disable, r.id(), who.username())));
        ctx.status(202).json(Map.of("job_id", r.id(), "jupyter", on, "message", "jupyter will be " + (on ? "enabled" : "disabled")));
    }

    private static void requireLive(Reservation r) {
        if (r.status().isTerminal()) {
            throw new IllegalTransitionException("reservation " + r.id() + " is " + r.status().wire());
        }
    }

    private void clusterStatus(Context ctx) {
        caller(ctx);
        Capacity capacity = p.capacity().get();
        var live = p.db().query(c -> p.reservations().withStatus(c, ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        Map<String, Long> byState = new LinkedHashMap<>();
        for (ReservationStatus s : List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE)) {
            byState.put(s.wire(), live.stream().filter(r -> r.status() == s).count());
        }
        Map<String, Object> byType = new LinkedHashMap<>();
        for (String type : capacity.nodes().stream().map(Capacity.Node::gpuType).distinct().toList()) {
            int inUse = gpusInUse(live, type);
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("nodes", capacity.nodes().stream().filter(n -> n.gpuType().equals(type)).count());
            t.put("total_gpus", capacity.totalGpus(type));
            t.put("in_use", inUse);
            t.put("queued", waiting(live, type));
            byType.put(type, t);
        }
        int total = capacity.nodes().stream().mapToInt(n -> n.gpus().size()).sum();
        int used = live.stream().filter(r -> r.status().holdsGpus()).mapToInt(Reservation::gpuCount).sum();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("total_gpus", total);
        out.put("gpus_in_use", used);
        out.put("reservations_by_state", byState);
        out.put("by_gpu_type", byType);
        ctx.json(out);
    }

    private void availability(Context ctx) {
        caller(ctx);
        Capacity capacity = p.capacity().get();
        var live = p.db().query(c -> p.reservations().withStatus(c, ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE));
        List<Map<String, Object>> types = new ArrayList<>();
        for (GpuType t : p.catalog().all()) {
            int total = capacity.totalGpus(t.name());
            int inUse = gpusInUse(live, t.name());
            long queued = waiting(live, t.name());
            if (total == 0 && inUse == 0 && queued == 0) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gpu_type", t.name());
            m.put("total", total);
            m.put("in_use", inUse);
            m.put("queued", queued);
            m.put("available", Math.max(0, total - inUse));
            m.put("max_per_node", capacity.maxPerNode(t.name()));
            m.put("simulated", capacity.nodes().stream().anyMatch(n -> n.gpuType().equals(t.name()) && n.simulated()));
            types.add(m);
        }
        ctx.json(Map.of("gpu_types", types));
    }

    /** GPUs of a type held by preparing and active reservations, of the live ones given. */
    private static int gpusInUse(List<Reservation> live, String type) {
        return live.stream().filter(r -> r.gpuType().equals(type) && r.status().holdsGpus()).mapToInt(Reservation::gpuCount).sum();
    }

    private static long waiting(List<Reservation> live, String type) {
        return live.stream().filter(r -> r.gpuType().equals(type) && r.status() == ReservationStatus.QUEUED).count();
    }

    /** A reservation the caller may see: their own, one they were added to (admins: anyone's). */
    private Reservation findVisible(Context ctx, String ref) {
        Caller who = caller(ctx);
        return find(who, ref, true);
    }

    /** A reservation the caller may change: their own (admins: anyone's), by id or by their name for it. */
    private Reservation findOwned(Context ctx, Caller who, String ref) {
        return find(who, ref, false);
    }

    private Reservation find(Caller who, String ref, boolean addedUsersToo) {
        if (ref.length() > 100) {
            throw ApiError.notFound("no reservation " + ref.substring(0, 20) + "…");
        }
        Optional<Reservation> r;
        UUID id = parseUuid(ref);
        if (id != null) {
            r = p.db().query(c -> p.reservations().find(c, id));
        } else {
            r = p.db().query(c -> p.reservations().findByName(c, who.userId(), ref)).stream().findFirst();
        }
        boolean allowed = r.isPresent() && (who.admin() || r.get().userId() == who.userId()
                || (addedUsersToo && p.db().query(c -> p.reservations().addedUsers(c, r.get().id())).contains(who.userId())));
        if (!allowed) {
            // Someone else's reservation reads as missing: ids are not a way to probe.
            throw ApiError.notFound("you have no reservation '" + ref + "': see `gpu-dev list`");
        }
        return r.get();
    }

    /** A reservation as the API shows it to this caller (who logs in as themselves through the proxy). */
    Map<String, Object> view(Reservation r, Caller who) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job_id", r.id());
        m.put("user", r.username());
        m.put("status", r.status().wire());
        m.put("gpu_type", r.gpuType());
        m.put("gpu_count", r.gpuCount());
        m.put("duration_hours", r.durationHours());
        m.put("name", r.name());
        m.put("jupyter", r.lifecycle().jupyter());
        m.put("keep_when_idle", r.lifecycle().idleOptOut());
        m.put("disk_name", r.options().disk());
        m.put("no_persist", r.options().scratch());
        m.put("image", r.options().image());
        m.put("node_labels", r.options().nodeLabels());
        m.put("created_at", r.createdAt());
        m.put("launched_at", r.launchedAt());
        m.put("expires_at", r.expiresAt());
        m.put("queue_position", r.status() == ReservationStatus.QUEUED ? r.queuePosition() : null);
        m.put("estimated_start_at", r.status() == ReservationStatus.QUEUED ? r.estimatedStart() : null);
        m.put("pending_reason", r.status() == ReservationStatus.QUEUED ? r.pendingReason() : null);
        m.put("current_detailed_status", r.detailedStatus());
        m.put("failure_reason", r.failureReason());
        m.put("gpus", r.placement() == null ? null : r.placement().gpus());
        m.put("node", r.placement() == null ? null : r.placement().node());
        m.put("nodes", r.placement() == null ? null : nodesView(r));
        if (r.status() == ReservationStatus.ACTIVE && r.connection() != null) {
            Map<String, Object> conn = new LinkedHashMap<>();
            conn.put("host", r.connection().host());
            conn.put("port", r.connection().port());
            conn.put("user", who.username());
            conn.put("proxy_host", p.config().sshProxyHost());
            conn.put("proxy_port", p.config().sshProxyPort());
            conn.put("host_key_alias", r.environmentName());
            m.put("connection", conn);
            m.put("ssh_command", "ssh -J " + who.username() + "@" + p.config().sshProxyHost() + ":" + p.config().sshProxyPort()
                    + " -p " + r.connection().port() + " " + who.username() + "@" + r.connection().host());
        } else {
            m.put("connection", null);
            m.put("ssh_command", null);
        }
        m.put("status_history", r.history().stream().map(h -> {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("status", h.status().wire());
            e.put("at", h.at());
            e.put("reason", h.reason());
            return e;
        }).toList());
        return m;
    }

    private static List<Map<String, Object>> nodesView(Reservation r) {
        List<Map<String, Object>> out = new ArrayList<>();
        var slices = r.placement().slices();
        for (int rank = 0; rank < slices.size(); rank++) {
            var sl = slices.get(rank);
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("rank", rank);
            n.put("node", sl.node());
            n.put("gpus", sl.gpus());
            n.put("ssh_host", r.status() == ReservationStatus.ACTIVE ? sl.sshHost() : null);
            n.put("ssh_port", r.status() == ReservationStatus.ACTIVE ? sl.sshPort() : null);
            n.put("host_key_alias", r.environmentName(rank));
            out.add(n);
        }
        return out;
    }

    private static UUID parseUuid(String s) {
        try {
            return s.length() == 36 ? UUID.fromString(s) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static long parseLong(String s, String what) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw ApiError.notFound("no " + what + " '" + (s.length() > 20 ? s.substring(0, 20) : s) + "'");
        }
    }

    private static int boundedInt(String raw, int dflt, int min, int max, String name) {
        if (raw == null || raw.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(raw.trim());
            if (v < min || v > max) {
                throw ApiError.badRequest(name + " must be " + min + "-" + max);
            }
            return v;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be a whole number (" + min + "-" + max + ")");
        }
    }
}
