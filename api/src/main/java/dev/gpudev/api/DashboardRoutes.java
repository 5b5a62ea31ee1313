package dev.gpudev.api;

import java.time.Clock;
import dev.gpudev.store.Users;
import dev.gpudev.store.Database;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.UiSessions;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The web dashboard: its pages (static; every figure on them comes from the /v1 routes, with the same
 * authorization as the CLI) and its logins. `gpu-dev dashboard` asks for a one-time login link with the
 * user's API key; the browser trades the link for a session cookie (HttpOnly, SameSite=Strict, Secure
 * behind HTTPS). No API key reaches the browser; the link's token rides in the URL's fragment, which
 * browsers never send to a server, so no access log holds it either.
 */
final class DashboardRoutes {
    private static final Logger log = LoggerFactory.getLogger(DashboardRoutes.class);
    static final String COOKIE = "gpudev_session";
    static final String CSRF_HEADER = "X-CSRF-Token";
    static final Duration LINK_TTL = Duration.ofMinutes(2);
    static final Duration SESSION_TTL = Duration.ofHours(12);
    /** A session unused this long ends, even before its 12 hours. */
    static final Duration IDLE = Duration.ofHours(2);
    /** What every page and asset of the dashboard is sent with: nothing but the server's own files runs or loads. */
    static final Map<String, String> HEADERS = Map.of(
            "Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options", "nosniff",
            "Referrer-Policy", "no-referrer",
            "X-Frame-Options", "DENY",
            "Cache-Control", "no-store");

    private final Database db;
    private final Users users;
    private final Clock clock;
    private final UiSessions uiSessions;
    private final String page;
    private final String loginPage;

    DashboardRoutes(Database db, Users users, Clock clock, UiSessions uiSessions) {
        this.db = db;
        this.users = users;
        this.clock = clock;
        this.uiSessions = uiSessions;
        this.page = resource("ui/index.html");
        this.loginPage = resource("ui/login.html");
    }

    void register(Router r) {
        r.get("/ui", Access.ANYONE, ctx -> page(ctx, page));
        r.get("/ui/mine", Access.ANYONE, ctx -> page(ctx, page));
        r.get("/ui/admin", Access.ANYONE, ctx -> page(ctx, page));
        r.get("/ui/usage", Access.ANYONE, ctx -> page(ctx, page));
        r.get("/ui/login", Access.ANYONE, ctx -> page(ctx, loginPage));
        r.post("/v1/ui/login-links", Access.USER_WITH_KEY, this::createLink);
        r.post("/v1/ui/session", Access.ANYONE, this::openSession);
        r.get("/v1/ui/session", Access.USER, this::session);
        r.post("/v1/ui/logout", Access.ANYONE, this::logout);
    }

    private static void page(Context ctx, String html) {
        HEADERS.forEach(ctx::header);
        ctx.html(html);
    }

    /** A one-time login link for the caller, good for two minutes. */
    private void createLink(Context ctx) {
        Caller who = Callers.of(ctx);
        Bodies.only(Bodies.json(ctx));
        String token = Tokens.newSecret();
        Instant now = clock.instant();
        Instant expires = now.plus(LINK_TTL);
        db.inTransaction(c -> {
            uiSessions.createLink(c, Tokens.sha256Hex(token), who.userId(), who.keyId(), now, expires);
            return null;
        });
        log.info("user '{}' asked for a dashboard login link", who.username());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("token", token);
        out.put("path", "/ui/login#" + token);
        out.put("expires_at", expires);
        ctx.status(201).json(out);
    }

    /** Trades a login link for a session cookie. */
    private void openSession(Context ctx) {
        refuseCrossSite(ctx);
        String token = Bodies.string(Bodies.only(Bodies.json(ctx), "token"), "token", true, 512).trim();
        Instant now = clock.instant();
        String secret = Tokens.newSecret();
        String csrf = Tokens.newSecret();
        Instant expires = now.plus(SESSION_TTL);
        var user = db.inTransaction(c -> {
            var redeemed = uiSessions.redeem(c, Tokens.sha256Hex(token), now);
            long userId = switch (redeemed) {
                case UiSessions.Redeemed.Ok ok -> ok.userId();
                case UiSessions.Redeemed.Unknown u -> throw ApiError.unauthorized("unknown login link: run `gpu-dev dashboard` for a new one");
                case UiSessions.Redeemed.Used u -> throw ApiError.unauthorized("this login link was already used: run `gpu-dev dashboard` again");
                case UiSessions.Redeemed.Expired e -> throw ApiError.unauthorized(
                        "this login link expired (they last " + LINK_TTL.toMinutes() + " minutes): run `gpu-dev dashboard` again");
            };
            var u = users.findById(c, userId).orElseThrow(() -> ApiError.unauthorized("unknown login link"));
            if (!u.active()) {
                throw ApiError.forbidden("this account is disabled: ask an admin");
            }
            long keyId = redeemed instanceof UiSessions.Redeemed.Ok ok ? ok.keyId() : 0;
            uiSessions.createSession(c, Tokens.sha256Hex(secret), userId, keyId, csrf, now, expires);
            // The browser's previous session, if any, ends here rather than lingering on the server.
            String previous = ctx.cookie(COOKIE);
            if (previous != null && !previous.isBlank() && previous.length() <= 128) {
                uiSessions.end(c, Tokens.sha256Hex(previous.trim()));
            }
            return u;
        });
        ctx.attribute(RequestAttributes.AUDIT_USER, user.username());
        ctx.header("Set-Cookie", cookie(ctx, secret, SESSION_TTL.toSeconds()));
        log.info("dashboard login: user '{}'", user.username());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("username", user.username());
        out.put("is_admin", user.admin());
        out.put("csrf_token", csrf);
        out.put("expires_at", expires);
        ctx.status(201).json(out);
    }

    /** Who the dashboard is for, and the token its changes must carry (a key's caller gets none: it needs none). */
    private void session(Context ctx) {
        Caller who = Callers.of(ctx);
        UiSessions.Session s = ctx.attribute(Callers.SESSION);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("username", who.username());
        out.put("is_admin", who.admin());
        out.put("via", s == null ? "api_key" : "session");
        out.put("csrf_token", s == null ? null : s.csrfToken());
        out.put("expires_at", s == null ? null : s.expiresAt());
        ctx.json(out);
    }

    /**
     * Ends the browser's session on the server and clears its cookie; without one, nothing to end. A live
     * session ends only with its CSRF token (no other site's page logs a user out).
     */
    private void logout(Context ctx) {
        refuseCrossSite(ctx);
        String cookie = ctx.cookie(COOKIE);
        if (cookie != null && !cookie.isBlank() && cookie.length() <= 128) {
            String hash = Tokens.sha256Hex(cookie.trim());
            var live = db.query(c -> uiSessions.find(c, hash, clock.instant()));
            if (live.isPresent()) {
                String sent = ctx.header(CSRF_HEADER);
                if (sent == null || !java.security.MessageDigest.isEqual(sent.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        live.get().csrfToken().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                    ctx.attribute(RequestAttributes.AUDIT_USER, live.get().username());
                    throw ApiError.forbidden("logging out needs the dashboard's " + CSRF_HEADER + " header: reload the page");
                }
            }
            String ended = db.inTransaction(c -> uiSessions.endNamed(c, hash));
            if (ended != null) {
                ctx.attribute(RequestAttributes.AUDIT_USER, ended);
                log.info("dashboard session of '{}' ended by logout", ended);
            }
        }
        ctx.header("Set-Cookie", cookie(ctx, "", 0));
        ctx.status(204);
    }

    /** A browser's request made by another site's page: never a change (SameSite=Strict already keeps the cookie off it). */
    static void refuseCrossSite(Context ctx) {
        if ("cross-site".equalsIgnoreCase(ctx.header("Sec-Fetch-Site"))) {
            throw ApiError.forbidden("requests from other sites may not change anything here");
        }
    }

    static String cookie(Context ctx, String value, long maxAgeSeconds) {
        return COOKIE + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + maxAgeSeconds + (secure(ctx) ? "; Secure" : "");
    }

    /** Whether the browser reached us over HTTPS: directly, or through a load balancer or CDN that says so. */
    static boolean secure(Context ctx) {
        return "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(ctx.header("X-Forwarded-Proto"))
                || "https".equalsIgnoreCase(ctx.header("CloudFront-Forwarded-Proto"));
    }

    private static String resource(String name) {
        try (InputStream in = DashboardRoutes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
