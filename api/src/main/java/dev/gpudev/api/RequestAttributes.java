package dev.gpudev.api;

/** What the API keeps on a request while it is handled (Javalin context attributes). */
final class RequestAttributes {
    /** When it came in (nanoTime), for the request-duration metric. */
    static final String STARTED = "gpudev.started";
    /** Its id, echoed in X-Request-Id and the audit log. */
    static final String REQUEST_ID = "gpudev.request-id";
    /** Who a login was for, when no key was sent (the audit log names them). */
    static final String AUDIT_USER = "gpudev.audit-user";

    /** The client's address: the peer's, or the one a trusted proxy's header says (rate limits and the audit). */
    static final String CLIENT = "gpudev.client";

    private RequestAttributes() {
    }

    /** The client's address as set for this request (the peer's when none was). */
    static String client(io.javalin.http.Context ctx) {
        String c = ctx.attribute(CLIENT);
        return c != null ? c : ctx.ip();
    }

    /**
     * The address a proxy's header gives ("203.0.113.9:52341", "[2001:db8::1]:443", or bare), or the peer's when the
     * header is absent or not an address: the header is trusted only where the operator said so (the API reached only
     * through that proxy, which overwrites it).
     */
    static String clientFrom(io.javalin.http.Context ctx, String header) {
        String v = header == null ? null : ctx.header(header);
        if (v == null || v.isBlank() || v.length() > 64) {
            return ctx.ip();
        }
        v = v.trim();
        String host = v.startsWith("[") && v.indexOf(']') > 0 ? v.substring(1, v.indexOf(']'))
                : v.chars().filter(ch -> ch == ':').count() == 1 ? v.substring(0, v.indexOf(':')) : v;
        return host.matches("[0-9A-Fa-f.:]{2,45}") ? host : ctx.ip();
    }
}
