package dev.gpudev.api;

import dev.gpudev.store.AuditLog;
import io.javalin.http.Context;

import java.time.Instant;

/** What a state-changing request was about, for the audit log (a submit's new reservation, a disk operation). */
final class Audit {
    static final String TARGET = "gpudev.audit-target";
    /** Set when the request wrote its own entry with its change (a submit): the after-handler writes none. */
    static final String WRITTEN = "gpudev.audit-written";

    private Audit() {
    }

    /**
     * What a request was about, by one rule: the kind of thing and its reference ("reservation UUID",
     * "disk NAME", "user NAME", "team NAME", "key ID", "ssh-key ID", "disk-operation ID").
     */
    static void target(Context ctx, String kind, Object ref) {
        ctx.attribute(TARGET, of(kind, ref));
    }

    static String of(String kind, Object ref) {
        return kind + " " + ref;
    }

    /** The kinds of things routes are about, by the path their reference follows. */
    private static final java.util.Map<String, String> KINDS = java.util.Map.of("/v1/jobs/{id}", "reservation", "/v1/disks/{name}", "disk",
            "/v1/keys/{id}", "key", "/v1/ssh-keys/{id}", "ssh-key", "/v1/admin/users/{name}", "user", "/v1/admin/teams/{name}", "team",
            "/v1/disk-operations/{id}", "disk-operation", "/v1/notifications/{id}", "notification");

    /** A request's target by the same rule, from its route, when the handler named none; null when it is about no one thing. */
    static String fromRoute(Context ctx) {
        String route = route(ctx);
        for (var e : KINDS.entrySet()) {
            if (route.startsWith(e.getKey())) {
                String param = e.getKey().substring(e.getKey().lastIndexOf('{') + 1, e.getKey().length() - 1);
                String ref = ctx.pathParamMap().get(param);
                return ref == null ? null : of(e.getValue(), ref);
            }
        }
        return null;
    }

    /** The entry for this request: who, which route, about what, from where, with which outcome. */
    static AuditLog.Entry entry(Context ctx, Caller who, String username, String target, int outcome, Instant at) {
        return new AuditLog.Entry(0, at, who == null ? null : who.userId(), who != null ? who.username() : username,
                ctx.method().name() + " " + route(ctx), target, RequestAttributes.client(ctx), outcome, ctx.attribute(RequestAttributes.REQUEST_ID));
    }

    static String route(Context ctx) {
        try {
            // A request no route matched has Javalin's sentence here ("No handler matched …"): one fixed label.
            String path = ctx.endpointHandlerPath();
            return path == null || !path.startsWith("/") ? "unmatched" : path;
        } catch (RuntimeException e) {
            return "unmatched";
        }
    }
}
