package dev.gpudev.api;

import dev.gpudev.core.Tokens;
import dev.gpudev.store.ApiKeys;
import io.javalin.http.Context;

import java.time.Instant;

/** Who is asking: the API key of a request checked (one query), rate limited, and remembered on the request. */
final class Callers {
    static final String ATTRIBUTE = "gpudev.caller";

    private final ApiServer.Parts p;
    private final RateLimiter perKey;

    Callers(ApiServer.Parts parts) {
        this.p = parts;
        this.perKey = new RateLimiter(parts.config().rateLimitPerKey(), parts.config().rateLimitPerKey() * 2, parts.clock());
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
        ctx.attribute(ATTRIBUTE, c);
        return c;
    }

    /** Checks a request against its route's access, before the handler. */
    void check(Context ctx) {
        var roles = ctx.routeRoles();
        if (roles.contains(Access.ANYONE) || (roles.isEmpty() && ctx.path().startsWith("/docs/assets/"))) {
            return; // Swagger UI's files are served without a route
        }
        // A route without a role is not open: it takes a logged-in user, at least.
        if (roles.contains(Access.LOCAL_OR_ADMIN)) {
            String ip = ctx.ip();
            boolean local = ip.equals("127.0.0.1") || ip.equals("0:0:0:0:0:0:0:1") || ip.equals("::1");
            if (!local && !authenticate(ctx).admin()) {
                throw ApiError.forbidden("this is for admins or scrapes from the server's own machine");
            }
            return;
        }
        Caller who = authenticate(ctx);
        if (roles.contains(Access.ADMIN) && !who.admin()) {
            throw ApiError.forbidden("this is for admins: " + ctx.method() + " " + ctx.endpointHandlerPath());
        }
    }
}
