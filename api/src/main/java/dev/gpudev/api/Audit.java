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

    static void target(Context ctx, Object target) {
        ctx.attribute(TARGET, String.valueOf(target));
    }

    /** The entry for this request: who, which route, about what, from where, with which outcome. */
    static AuditLog.Entry entry(Context ctx, Caller who, String username, String target, int outcome, Instant at) {
        return new AuditLog.Entry(0, at, who == null ? null : who.userId(), who != null ? who.username() : username,
                ctx.method().name() + " " + route(ctx), target, ctx.ip(), outcome, ctx.attribute(RequestAttributes.REQUEST_ID));
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
