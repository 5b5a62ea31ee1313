package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.WebhookPolicy;
import dev.gpudev.store.Database;
import dev.gpudev.store.Webhooks;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A user's notification webhooks, and a team's (every reservation charged to the team; its members and admins
 * manage them, its members see them): registered (checked against the admin's {@link WebhookPolicy}), listed
 * masked (the URL is a secret: it is never shown again, nor logged, nor audited), removed.
 */
final class NotificationRoutes {
    private static final Logger log = LoggerFactory.getLogger(NotificationRoutes.class);
    /** Hooks one user may have. */
    static final int MAX_PER_USER = 10;
    private final Database db;
    private final Webhooks webhooks;
    private final WebhookPolicy policy;
    private final dev.gpudev.store.Teams teams;

    NotificationRoutes(Database db, Webhooks webhooks, dev.gpudev.store.Teams teams, WebhookPolicy policy) {
        this.db = db;
        this.webhooks = webhooks;
        this.teams = teams;
        this.policy = policy;
    }

    /** Whether the caller may manage this team's hooks: a member, or an admin (the team must exist). */
    private void mayManage(java.sql.Connection c, Caller who, String team) throws java.sql.SQLException {
        if (teams.find(c, team).isEmpty()) {
            throw ApiError.notFound("there is no team '" + ApiError.shown(team) + "': see `gpu-dev teams`");
        }
        if (!who.admin() && teams.of(c, who.userId()).stream().noneMatch(m -> m.team().equals(team))) {
            throw ApiError.forbidden("only members of team " + team + " (and admins) manage its notifications");
        }
    }

    void register(Router r) {
        r.get("/v1/notifications", Access.USER, this::list);
        r.post("/v1/notifications", Access.USER, this::add);
        r.delete("/v1/notifications/{id}", Access.USER, this::remove);
    }

    static Map<String, Object> view(Webhooks.Hook h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", h.id());
        m.put("url", h.masked());
        m.put("format", h.format());
        m.put("team", h.team());
        m.put("created_at", h.createdAt());
        return m;
    }

    /** The caller's own hooks and those of their teams (?team=T: that team's alone; members and admins). */
    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        String team = ctx.queryParam("team");
        var hooks = db.query(c -> {
            if (team != null) {
                mayManage(c, who, team);
                return webhooks.ofTeam(c, team);
            }
            return webhooks.seenBy(c, who.userId());
        });
        ctx.json(Map.of("notifications", hooks.stream().map(NotificationRoutes::view).toList()));
    }

    private void add(Context ctx) {
        Caller who = Callers.of(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "url", "format", "team");
        String url = Bodies.string(body, "url", true, 2048);
        String team = Bodies.string(body, "team", false, 63);
        String format = Bodies.string(body, "format", false, 8);
        if (format == null) {
            format = url.contains("hooks.slack.com") ? "slack" : "json";
        }
        if (!format.equals("slack") && !format.equals("json")) {
            throw ApiError.badRequest("format must be slack ({\"text\": …}) or json (the event and the reservation)");
        }
        var uri = policy.check(url);
        String refused = policy.refusal(uri.getHost());
        if (refused != null) {
            throw ApiError.badRequest("url: " + refused);
        }
        String f = format;
        var hook = db.inTransaction(c -> {
            if (team != null) {
                mayManage(c, who, team);
                if (webhooks.ofTeam(c, team).size() >= MAX_PER_USER) {
                    throw new ApiError(429, "too_many", "team " + team + " has " + MAX_PER_USER + " notification hooks, the most one team may: remove one");
                }
            } else if (webhooks.of(c, who.userId()).size() >= MAX_PER_USER) {
                throw new ApiError(429, "too_many", "you have " + MAX_PER_USER + " notification hooks, the most one user may: remove one");
            }
            return webhooks.add(c, who.userId(), team, url, f);
        }).orElseThrow(() -> new ApiError(409, "conflict", (team == null ? "you have" : "team " + team + " has") + " this URL registered already"));
        Audit.target(ctx, "notification", hook.id());
        log.info("user '{}' registered notification hook {} ({}{})", who.username(), hook.id(), hook.format(),
                team == null ? "" : ", team " + team);
        ctx.status(201).json(view(hook));
    }

    private void remove(Context ctx) {
        Caller who = Callers.of(ctx);
        long id;
        try {
            id = Long.parseLong(ctx.pathParam("id"));
        } catch (NumberFormatException e) {
            throw ApiError.notFound("you have no notification hook " + ApiError.shown(ctx.pathParam("id")));
        }
        long hookId = id;
        boolean removed = db.inTransaction(c -> {
            if (webhooks.remove(c, who.userId(), hookId)) {
                return true;
            }
            // a team's: its members and admins remove it; to anyone else it does not exist
            var hook = webhooks.find(c, hookId).filter(h -> h.team() != null);
            if (hook.isEmpty() || !who.admin() && teams.of(c, who.userId()).stream().noneMatch(m -> m.team().equals(hook.get().team()))) {
                return false;
            }
            return webhooks.removeOfTeam(c, hook.get().team(), hookId);
        });
        if (!removed) {
            throw ApiError.notFound("you have no notification hook " + hookId + ": see `gpu-dev notify list`");
        }
        Audit.target(ctx, "notification", hookId);
        ctx.json(Map.of("id", hookId, "deleted", true));
    }
}
