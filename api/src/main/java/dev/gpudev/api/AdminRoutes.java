package dev.gpudev.api;

import dev.gpudev.store.UiSessions;
import dev.gpudev.store.Notifications;
import java.time.Clock;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.Users;
import dev.gpudev.store.Database;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Names;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.AuditLog;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** For admins: users, their keys and invitations, and the audit log. */
final class AdminRoutes {
    private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

    private final Database db;
    private final Users users;
    private final ApiKeys apiKeys;
    private final Reservations reservations;
    private final CommandQueue commands;
    private final Clock clock;
    private final AuditLog audit;
    private final Notifications.Coalescer wakeUps;
    private final UiSessions uiSessions;
    private final VerifiedKeys verifiedKeys;

    AdminRoutes(Database db, Users users, ApiKeys apiKeys, Reservations reservations, CommandQueue commands, Clock clock, AuditLog audit, Notifications.Coalescer wakeUps, UiSessions uiSessions, VerifiedKeys verifiedKeys) {
        this.db = db;
        this.users = users;
        this.apiKeys = apiKeys;
        this.reservations = reservations;
        this.commands = commands;
        this.clock = clock;
        this.audit = audit;
        this.wakeUps = wakeUps;
        this.uiSessions = uiSessions;
        this.verifiedKeys = verifiedKeys;
    }

    void register(Router r) {
        r.post("/v1/admin/invites", Access.ADMIN, this::createInvite);
        r.get("/v1/audit", Access.ADMIN, this::audit);
        r.get("/v1/admin/users", Access.ADMIN, this::users);
        r.get("/v1/admin/keys", Access.ADMIN, this::keys);
        r.get("/v1/admin/invites", Access.ADMIN, this::invites);
        r.post("/v1/admin/users/{name}/disable", Access.ADMIN, ctx -> setActive(ctx, false));
        r.post("/v1/admin/users/{name}/enable", Access.ADMIN, ctx -> setActive(ctx, true));
    }

    /**
     * Disables a user (their keys, dashboard sessions and SSH stop at once, their reservations end), or
     * enables them again (their keys work again; what was ended does not come back).
     */
    private void setActive(Context ctx, boolean active) {
        Caller who = Callers.of(ctx);
        String name = Names.check("username", ctx.pathParam("name"));
        Bodies.only(Bodies.json(ctx));
        if (!active && name.equals(who.username())) {
            throw ApiError.badRequest("an admin cannot disable themselves: ask another admin");
        }
        int[] cancelled = {0};
        db.inTransaction(c -> {
            long userId = users.setActive(c, name, active).orElseThrow(() -> ApiError.notFound("no user '" + name + "'"));
            if (!active) {
                uiSessions.endAll(c, userId);
                for (var id : reservations.liveOf(c, userId)) {
                    commands.send(c, new dev.gpudev.core.Command.Cancel(id, who.username() + " (the account was disabled)"));
                    cancelled[0]++;
                }
            }
            return null;
        });
        verifiedKeys.forgetAll(); // this replica forgets before it answers; the others when the change commits
        wakeUps.request();
        Audit.target(ctx, "user", name);
        log.info("admin '{}' {} user '{}'{}", who.username(), active ? "enabled" : "disabled", name,
                active ? "" : ": " + cancelled[0] + " reservation(s) cancelled");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("username", name);
        out.put("is_active", active);
        out.put("reservations_cancelled", cancelled[0]);
        ctx.json(out);
    }

    /** Every user: admin or not, active or not, how they log in, live keys, last use. */
    private void users(Context ctx) {
        var all = db.query(c -> users.all(c, clock.instant()));
        ctx.json(Map.of("users", all.stream().map(u -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("user_id", u.userId());
            m.put("username", u.username());
            m.put("is_admin", u.admin());
            m.put("is_active", u.active());
            m.put("login", u.loginMethod());
            m.put("aws_principal", u.awsPrincipal());
            m.put("created_at", u.createdAt());
            m.put("live_keys", u.liveKeys());
            m.put("last_used_at", u.lastUsedAt());
            return m;
        }).toList()));
    }

    /** Every live API key (its prefix, never the key): revoke one with DELETE /v1/keys/{id}. */
    private void keys(Context ctx) {
        int limit = Params.boundedInt(ctx.queryParam("limit"), 500, 1, 5000, "limit");
        var keys = db.query(c -> apiKeys.live(c, clock.instant(), limit));
        ctx.json(Map.of("keys", keys.stream().map(k -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key_id", k.keyId());
            m.put("username", k.username());
            m.put("key_prefix", k.keyPrefix());
            m.put("created_at", k.createdAt());
            m.put("expires_at", k.expiresAt());
            m.put("last_used_at", k.lastUsedAt());
            return m;
        }).toList()));
    }

    /** Invitations, newest first: for whom, by whom, until when, used or not (never the token). */
    private void invites(Context ctx) {
        int limit = Params.boundedInt(ctx.queryParam("limit"), 100, 1, 1000, "limit");
        Instant now = clock.instant();
        var invites = db.query(c -> users.invitations(c, limit));
        ctx.json(Map.of("invites", invites.stream().map(i -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("invite_id", i.inviteId());
            m.put("username", i.username());
            m.put("is_admin", i.admin());
            m.put("created_by", i.createdBy());
            m.put("created_at", i.createdAt());
            m.put("expires_at", i.expiresAt());
            m.put("used_at", i.usedAt());
            m.put("state", i.usedAt() != null ? "used" : i.expiresAt() != null && !i.expiresAt().isAfter(now) ? "expired" : "open");
            return m;
        }).toList()));
    }

    private void createInvite(Context ctx) {
        Caller who = Callers.of(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "username", "expires_in_hours");
        String username = Names.check("username", Bodies.string(body, "username", true, 64));
        Integer hours = Bodies.integer(body, "expires_in_hours", false);
        int ttl = hours == null ? 72 : hours;
        if (ttl < 1 || ttl > 24 * 30) {
            throw ApiError.badRequest("expires_in_hours must be 1-720");
        }
        String token = Tokens.newSecret();
        Instant expires = clock.instant().plus(Duration.ofHours(ttl));
        db.inTransaction(c -> {
            users.createInvite(c, Tokens.sha256Hex(token), username, false, false, who.userId(), expires);
            return null;
        });
        Audit.target(ctx, "user", username);
        log.info("admin '{}' invited '{}'", who.username(), username);
        ctx.status(201).json(Map.of("token", token, "username", username, "expires_at", expires));
    }

    private void audit(Context ctx) {
        Instant since = null;
        String s = ctx.queryParam("since");
        if (s != null && !s.isBlank()) {
            try {
                since = Instant.parse(s);
            } catch (java.time.format.DateTimeParseException e) {
                throw ApiError.badRequest("since must be an ISO-8601 instant, e.g. 2026-01-01T00:00:00Z");
            }
            if (since.isBefore(Instant.parse("1970-01-01T00:00:00Z")) || since.isAfter(Instant.parse("9999-12-31T00:00:00Z"))) {
                throw ApiError.badRequest("since must be between 1970 and 9999");
            }
        }
        String user = Bodies.queryText(ctx.queryParam("username"), "username", 64);
        String action = Bodies.queryText(ctx.queryParam("action"), "action", 128);
        var q = new AuditLog.Query(user, action, since, Params.boundedInt(ctx.queryParam("limit"), 100, 1, 1000, "limit"));
        ctx.json(Map.of("entries", db.query(c -> audit.find(c, q)).stream().map(e -> {
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
}
