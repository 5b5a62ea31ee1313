package dev.gpudev.api;

import java.time.Clock;
import dev.gpudev.store.Database;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.UiSessions;
import io.javalin.http.Context;

import java.time.Instant;

/**
 * Who is asking: the API key of a request checked (one query), rate limited, and remembered on the
 * request; or, from a browser, the dashboard's session cookie, whose changes must also carry the
 * session's CSRF token and must not come from another site.
 */
final class Callers {
    static final String ATTRIBUTE = "gpudev.caller";
    /** The dashboard session a request came with (null for API keys). */
    static final String SESSION = "gpudev.ui-session";

    private final Database db;
    private final ApiKeys apiKeys;
    private final Clock clock;
    private final UiSessions uiSessions;
    private final RateLimiter perKey;
    private final RateLimiter perAddress;
    private final VerifiedKeys verified;

    Callers(Database db, ApiKeys apiKeys, Clock clock, UiSessions uiSessions, ApiConfig config, VerifiedKeys verified) {
        this.db = db;
        this.apiKeys = apiKeys;
        this.clock = clock;
        this.uiSessions = uiSessions;
        this.verified = verified;
        this.perKey = new RateLimiter(config.rateLimitPerKey(), config.rateLimitPerKey() * 2, clock);
        this.perAddress = new RateLimiter(config.rateLimitPerAddress(), config.rateLimitPerAddress() * 2, clock);
    }

    /** Whether a request comes with a key or a dashboard session (it is then limited by those, not by its address). */
    static boolean carriesCredentials(Context ctx) {
        return ctx.header("Authorization") != null || ctx.header("X-API-Key") != null
                || (ctx.cookie(DashboardRoutes.COOKIE) != null && !ctx.cookie(DashboardRoutes.COOKIE).isBlank());
    }

    /** Over the address's rate (requests without credentials, and credentials that turn out wrong), a 429. */
    void limitAddress(Context ctx) {
        String client = RequestAttributes.client(ctx);
        long wait = perAddress.acquire("addr:" + client);
        if (wait > 0) {
            ctx.header("Retry-After", Long.toString(wait));
            throw new ApiError(429, "rate_limited", "too many requests from " + client + "; retry in " + wait + " s");
        }
    }

    /** The caller of a route that needs one (set before the handler by the route's access). */
    static Caller of(Context ctx) {
        Caller c = ctx.attribute(ATTRIBUTE);
        if (c == null) {
            throw new IllegalStateException("route without USER access asked for its caller");
        }
        return c;
    }

    /** The caller if the request carries a key (else null): for routes open to anyone that say more to a caller. */
    static Caller ifAny(Context ctx) {
        return ctx.attribute(ATTRIBUTE);
    }

    Caller authenticate(Context ctx) {
        Caller cached = ctx.attribute(ATTRIBUTE);
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
        if (key == null && header == null) {
            String cookie = ctx.cookie(DashboardRoutes.COOKIE);
            if (cookie != null && !cookie.isBlank()) {
                Caller c = fromSession(ctx, cookie.trim());
                ctx.attribute(ATTRIBUTE, c);
                return c;
            }
        }
        if (key == null || key.isEmpty()) {
            limitAddress(ctx); // credentials that are none: the address pays, as for anonymous requests
            throw ApiError.unauthorized("no API key: run `gpu-dev login` first (send it as Authorization: Bearer KEY)");
        }
        if (key.length() > 512) {
            limitAddress(ctx);
            throw ApiError.unauthorized("unknown API key: run `gpu-dev login`");
        }
        String hash = Tokens.sha256Hex(key);
        Instant now = clock.instant();
        ApiKeys.Key believed = verified.get(hash, now);
        Caller c;
        if (believed != null && valid(believed, now)) {
            // A key's own bucket only once it is known to be a key: made-up ones never make buckets of their own.
            limit(ctx, "key:" + hash, "with this API key");
            // Checked a moment ago and not revoked since: no round trip, but the expiry is checked every time.
            if (stale(believed.lastUsedAt(), now)) {
                db.query(conn -> {
                    apiKeys.touch(conn, believed.keyId(), now);
                    return null;
                });
                verified.touched(hash, believed, now);
            }
            c = new Caller(believed.userId(), believed.username(), believed.admin(), believed.keyId());
        } else {
            long generation = verified.generation();
            ApiKeys.Key k = db.query(conn -> {
                ApiKeys.Key found = apiKeys.findByHash(conn, hash).orElse(null);
                if (found != null && valid(found, now) && stale(found.lastUsedAt(), now)) {
                    apiKeys.touch(conn, found.keyId(), now);
                    found = found.usedAt(now);
                }
                return found;
            });
            if (k == null) {
                // made-up keys cost a lookup each: they share the address's bucket, never a real key's
                limitAddress(ctx);
                throw ApiError.unauthorized("unknown API key: run `gpu-dev login`");
            }
            limit(ctx, "key:" + hash, "with this API key");
            if (!valid(k, now)) {
                throw refusal(k, now);
            }
            verified.put(hash, k, now, generation);
            c = new Caller(k.userId(), k.username(), k.admin(), k.keyId());
        }
        ctx.attribute(ATTRIBUTE, c);
        return c;
    }

    /** Over the key's (or session's) rate, a 429 with Retry-After. */
    private void limit(Context ctx, String bucket, String whose) {
        long wait = perKey.acquire(bucket);
        if (wait > 0) {
            ctx.header("Retry-After", Long.toString(wait));
            throw new ApiError(429, "rate_limited", "too many requests " + whose + "; retry in " + wait + " s");
        }
    }

    /** Whether a last use is worth recording: at most once a minute, so checking is not a write per request. */
    private static boolean stale(Instant lastUsed, Instant now) {
        return lastUsed == null || lastUsed.isBefore(now.minusSeconds(60));
    }

    /** Whether a request only reads (the dashboard's changes need its CSRF token; reads are not audited). */
    static boolean reads(Context ctx) {
        String method = ctx.method().name();
        return method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
    }

    private static boolean valid(ApiKeys.Key k, Instant now) {
        return k.active() && k.userActive() && (k.expiresAt() == null || k.expiresAt().isAfter(now));
    }

    private static ApiError refusal(ApiKeys.Key k, Instant now) {
        if (!k.active()) {
            return ApiError.forbidden("this API key was revoked: run `gpu-dev login`");
        }
        if (!k.userActive()) {
            return ApiError.forbidden("this account is disabled: ask an admin");
        }
        return ApiError.forbidden("this API key expired at " + k.expiresAt() + ": run `gpu-dev login` again");
    }

    private Caller fromSession(Context ctx, String cookie) {
        if (cookie.length() > 128) {
            throw ApiError.unauthorized("unknown dashboard session: run `gpu-dev dashboard`");
        }
        String hash = Tokens.sha256Hex(cookie);
        Instant now = clock.instant();
        UiSessions.Session s;
        try {
            s = session(ctx, hash, now);
        } catch (ApiError e) {
            if (e.status() == 401) {
                limitAddress(ctx); // a made-up or ended session: the address pays, never a bucket of its own
            }
            throw e;
        }
        limit(ctx, "session:" + hash, "from this dashboard");
        return checked(ctx, s);
    }

    private UiSessions.Session session(Context ctx, String hash, Instant now) {
        return db.query(conn -> {
            UiSessions.Session found = uiSessions.find(conn, hash, now)
                    .orElseThrow(() -> ApiError.unauthorized("your dashboard session ended: run `gpu-dev dashboard` to log in again"));
            if (found.lastSeenAt().isBefore(now.minus(DashboardRoutes.IDLE))) {
                uiSessions.end(conn, hash);
                throw ApiError.unauthorized("your dashboard session ended after " + DashboardRoutes.IDLE.toHours()
                        + " hours unused: run `gpu-dev dashboard` to log in again");
            }
            if (!found.userActive()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            if (stale(found.lastSeenAt(), now)) {
                uiSessions.touch(conn, hash, now);
            }
            return found;
        });
    }

    /** A live session's request: audited under its user; a change needs the session's CSRF token and the same site. */
    private Caller checked(Context ctx, UiSessions.Session s) {
        ctx.attribute(RequestAttributes.AUDIT_USER, s.username()); // a refused change is still audited under its user
        if (!reads(ctx)) {
            DashboardRoutes.refuseCrossSite(ctx);
            String sent = ctx.header(DashboardRoutes.CSRF_HEADER);
            if (sent == null || !java.security.MessageDigest.isEqual(sent.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    s.csrfToken().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                throw ApiError.forbidden("this change needs the dashboard's " + DashboardRoutes.CSRF_HEADER + " header: reload the page");
            }
        }
        ctx.attribute(SESSION, s);
        return new Caller(s.userId(), s.username(), s.admin(), 0);
    }

    /** Checks a request against its route's access, before the handler. */
    void check(Context ctx) {
        var roles = ctx.routeRoles();
        if (roles.contains(Access.ANYONE) || (roles.isEmpty()
                && (ctx.path().startsWith("/docs/assets/") || ctx.path().startsWith("/ui/assets/")))) {
            if (carriesCredentials(ctx)) {
                limitAddress(ctx); // credentials nobody checks here do not buy a way around the address's bucket
            }
            return; // Swagger UI's and the dashboard's files are served without a route
        }
        // A route without a role is not open: it takes a logged-in user, at least.
        if (roles.contains(Access.LOCAL_OR_ADMIN)) {
            String ip = ctx.ip();
            boolean local = ip.equals("127.0.0.1") || ip.equals("0:0:0:0:0:0:0:1") || ip.equals("::1");
            if (!local && !authenticate(ctx).admin()) {
                throw ApiError.forbidden("this is for admins or scrapes from the server's own machine");
            }
            if (local && carriesCredentials(ctx) && ctx.attribute(ATTRIBUTE) == null) {
                limitAddress(ctx);
            }
            return;
        }
        Caller who = authenticate(ctx);
        if (roles.contains(Access.USER_WITH_KEY) && ctx.attribute(SESSION) != null) {
            throw ApiError.forbidden("the dashboard cannot make keys, login links or SSH keys: use the CLI (gpu-dev)");
        }
        if (roles.contains(Access.ADMIN) && !who.admin()) {
            throw ApiError.forbidden("this is for admins: " + ctx.method() + " " + ctx.endpointHandlerPath());
        }
    }
}
