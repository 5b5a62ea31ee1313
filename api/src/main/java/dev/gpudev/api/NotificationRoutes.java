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
 * A user's notification webhooks: registered (checked against the admin's {@link WebhookPolicy}), listed
 * masked (the URL is a secret: it is never shown again, nor logged, nor audited), removed.
 */
final class NotificationRoutes {
    private static final Logger log = LoggerFactory.getLogger(NotificationRoutes.class);
    /** Hooks one user may have. */
    static final int MAX_PER_USER = 10;
    private final Database db;
    private final Webhooks webhooks;
    private final WebhookPolicy policy;

    NotificationRoutes(Database db, Webhooks webhooks, WebhookPolicy policy) {
        this.db = db;
        this.webhooks = webhooks;
        this.policy = policy;
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
        m.put("created_at", h.createdAt());
        return m;
    }

    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        ctx.json(Map.of("notifications", db.query(c -> webhooks.of(c, who.userId())).stream().map(NotificationRoutes::view).toList()));
    }

    private void add(Context ctx) {
        Caller who = Callers.of(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "url", "format");
        String url = Bodies.string(body, "url", true, 2048);
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
            if (webhooks.of(c, who.userId()).size() >= MAX_PER_USER) {
                throw new ApiError(429, "too_many", "you have " + MAX_PER_USER + " notification hooks, the most one user may: remove one");
            }
            return webhooks.add(c, who.userId(), url, f);
        }).orElseThrow(() -> new ApiError(409, "conflict", "you have this URL registered already"));
        Audit.target(ctx, "notification", hook.id());
        log.info("user '{}' registered notification hook {} ({})", who.username(), hook.id(), hook.format());
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
        if (!db.inTransaction(c -> webhooks.remove(c, who.userId(), hookId))) {
            throw ApiError.notFound("you have no notification hook " + hookId + ": see `gpu-dev notify list`");
        }
        Audit.target(ctx, "notification", hookId);
        ctx.json(Map.of("id", hookId, "deleted", true));
    }
}
