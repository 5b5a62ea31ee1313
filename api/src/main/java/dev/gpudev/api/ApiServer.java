package dev.gpudev.api;

import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.ValidationException;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Json;
import dev.gpudev.store.Notifications;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.StoreException;
import dev.gpudev.store.UiSessions;
import dev.gpudev.store.UsageSamples;
import dev.gpudev.store.Users;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The HTTP API: the server, what every request goes through (request id, rate limits, access by
 * route role, metrics, audit, errors as JSON), and the route groups, registered in one place.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    static final String SWAGGER_UI_VERSION = "5.34.1";

    /** The API's collaborators, grouped so the constructor stays short; wired in {@code server}. */
    public record Parts(Database db, Users users, ApiKeys apiKeys, SshKeys sshKeys, Reservations reservations,
                        ReservationUsers reservationUsers, Disks disks, Pgmq pgmq, CommandQueue commands, CapacityTable capacity,
                        GpuCatalog catalog, Clock clock, ApiConfig config, AuditLog audit, Notifications.Coalescer wakeUps,
                        UiSessions uiSessions, UsageSamples usageSamples) {
    }

    private final Parts p;
    private final Javalin app;
    private final Router router;
    private final Metrics metrics = new Metrics();
    private final Callers callers;
    private final VerifiedKeys verifiedKeys;
    private final AuditWriter auditWriter;

    public ApiServer(Parts parts) {
        this.p = parts;
        this.verifiedKeys = new VerifiedKeys(parts.db());
        var db = parts.db();
        var clock = parts.clock();
        this.callers = new Callers(db, parts.apiKeys(), clock, parts.uiSessions(), parts.config(), verifiedKeys);
        this.clientAddressHeader = parts.config().clientAddressHeader();
        this.auditWriter = new AuditWriter(parts.db(), parts.audit());
        this.app = Javalin.create(cfg -> {
            cfg.useVirtualThreads = true;
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = Bodies.MAX_BYTES;
            cfg.jsonMapper(new JavalinJackson(Json.MAPPER, true));
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrors()));
            // Before anything, static files included: a path with . or .. segments is a JSON 400, never a 500.
            cfg.jetty.modifyServletContextHandler(handler -> handler.addFilter(DotSegments.class, "/*",
                    java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST)));
            // Request line and headers: generous for real clients, bounded for the rest (431 and 414, as JSON).
            cfg.jetty.modifyHttpConfiguration(http -> {
                http.setRequestHeaderSize(16 * 1024);
                http.setSendServerVersion(false);
            });
            cfg.staticFiles.add(sf -> {
                sf.hostedPath = "/docs/assets";
                sf.directory = "/META-INF/resources/webjars/swagger-ui/" + SWAGGER_UI_VERSION;
                sf.location = io.javalin.http.staticfiles.Location.CLASSPATH;
            });
            cfg.staticFiles.add(sf -> {
                sf.hostedPath = "/ui/assets";
                sf.directory = "/dev/gpudev/api/ui/assets";
                sf.location = io.javalin.http.staticfiles.Location.CLASSPATH;
                sf.headers = DashboardRoutes.HEADERS;
            });
        });
        app.before(this::before);
        app.beforeMatched(callers::check);
        app.after(this::after);
        this.router = new Router(app);
        CapacityView capacity = new CapacityView(parts.db(), parts.capacity(), parts.config().backend());
        Views views = new Views(parts.config(), capacity);
        // Each group gets the collaborators it uses.
        new SystemRoutes(db, parts.reservations(), parts.pgmq(), parts.commands(), metrics, capacity).register(router);
        new AuthRoutes(db, parts.users(), parts.apiKeys(), clock, parts.config(), parts.uiSessions(), verifiedKeys).register(router);
        new AdminRoutes(db, parts.users(), parts.apiKeys(), parts.reservations(), parts.commands(), clock, parts.audit(), parts.wakeUps(),
                parts.uiSessions(), verifiedKeys).register(router);
        new SshKeyRoutes(db, parts.sshKeys()).register(router);
        new DiskRoutes(db, parts.reservations(), parts.disks(), parts.commands()).register(router);
        var teams = new dev.gpudev.store.Teams();
        var teamChoice = new TeamChoice(db, teams);
        var submission = new Submission(db, parts.reservations(), parts.disks(), parts.commands(), parts.catalog(), clock, parts.config(),
                parts.wakeUps(), capacity, teamChoice, teams);
        new JobRoutes(db, parts.users(), parts.reservations(), parts.commands(), clock, submission, views, parts.config().fairShare())
                .register(router);
        new ClusterRoutes(db, parts.reservations(), parts.reservationUsers(), parts.catalog(), clock, parts.usageSamples(), capacity)
                .register(router);
        new DashboardRoutes(db, parts.users(), clock, parts.uiSessions()).register(router);
        new UsageRoutes(db, parts.users(), new dev.gpudev.store.GpuHours(), parts.config().fairShare(), clock, teamChoice).register(router);
        new TeamRoutes(db, parts.users(), teams, teamChoice, capacity).register(router);
        new NotificationRoutes(db, new dev.gpudev.store.Webhooks(), teams, parts.config().webhooks()).register(router);
        errors();
    }

    /** Every route, as "METHOD /path/{param}": the OpenAPI document must name exactly these. */
    public List<String> registeredRoutes() {
        return router.routes();
    }

    /** The proxy header that says the client's address (null: the peer's address is the client's). */
    private final String clientAddressHeader;

    private void before(Context ctx) {
        ctx.attribute(RequestAttributes.STARTED, System.nanoTime());
        ctx.attribute(RequestAttributes.CLIENT, RequestAttributes.clientFrom(ctx, clientAddressHeader));
        if (ctx.path().indexOf('\0') >= 0 || ctx.queryString() != null && ctx.queryString().contains("%00")) {
            throw ApiError.badRequest("the path and query must not contain NUL characters");
        }
        if (ctx.path().startsWith("/v1/")) {
            ctx.header("Cache-Control", "no-store"); // keys, tokens and everyone's reservations: never kept by a cache
        }
        String id = ctx.header("X-Request-Id");
        if (id == null || !id.matches("[A-Za-z0-9._-]{1,64}")) {
            // Not a secret: a fast random id, not SecureRandom's (one lock for every request of the process).
            var rnd = java.util.concurrent.ThreadLocalRandom.current();
            id = new UUID(rnd.nextLong(), rnd.nextLong()).toString();
        }
        ctx.attribute(RequestAttributes.REQUEST_ID, id);
        ctx.header("X-Request-Id", id);
        org.slf4j.MDC.put("request_id", id);
        if (!Callers.carriesCredentials(ctx)) {
            // Only requests without a key or session share their address's bucket: on a one-machine server every
            // user comes from 127.0.0.1, and an anonymous flood must never throttle them (a key has its own bucket).
            callers.limitAddress(ctx);
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
        Long started = ctx.attribute(RequestAttributes.STARTED);
        String route = Audit.route(ctx);
        if (started != null) {
            metrics.observe(ctx.method().name(), route, ctx.statusCode(), (System.nanoTime() - started) / 1e9);
        }
        if (Callers.reads(ctx) || Boolean.TRUE.equals(ctx.attribute(Audit.WRITTEN))) {
            return;
        }
        String target = ctx.attribute(Audit.TARGET);
        if (target == null) {
            target = Audit.fromRoute(ctx);
        }
        auditWriter.write(Audit.entry(ctx, Callers.ifAny(ctx), ctx.attribute(RequestAttributes.AUDIT_USER), target, ctx.statusCode(), p.clock().instant()));
    }

    private void errors() {
        app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status(), e.code(), e.getMessage()));
        app.exception(ValidationException.class, (e, ctx) -> error(ctx, 400, "invalid_request", e.getMessage()));
        app.exception(IllegalTransitionException.class, (e, ctx) -> error(ctx, 409, "conflict", e.getMessage()));
        app.exception(StoreException.class, (e, ctx) -> {
            log.error("database error on {} {}: {}", ctx.method(), ctx.path(), e.getMessage());
            if (e.isUnavailable()) {
                ctx.header("Retry-After", "2");
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
                error(ctx, 404, "not_found", "no such endpoint: " + ctx.method() + " " + ApiError.shown(ctx.path()));
            }
        });
        app.error(405, ctx -> error(ctx, 405, "method_not_allowed", ctx.method() + " is not allowed on " + ApiError.shown(ctx.path())));
        app.error(413, ctx -> error(ctx, 413, "payload_too_large", "the body is larger than " + Bodies.MAX_BYTES + " bytes"));
    }

    /** The error body: always {"error": code, "message": text}, in that order. */
    static void error(Context ctx, int status, String code, String message) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("message", message);
        ctx.status(status).contentType("application/json").result(Json.write(body));
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
        verifiedKeys.close();
        auditWriter.close();
    }
}
