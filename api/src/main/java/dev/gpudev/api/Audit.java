package dev.gpudev.api;

import io.javalin.http.Context;

/** What a state-changing request was about, for the audit log (a submit's new reservation, a disk operation). */
final class Audit {
    static final String TARGET = "gpudev.audit-target";

    private Audit() {
    }

    static void target(Context ctx, Object target) {
        ctx.attribute(TARGET, String.valueOf(target));
    }
}
