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
     * The address a proxy's header gives, or the peer's when the header is absent or not an address: the header is
     * trusted only where the operator said so (the API reached only through that proxy, which overwrites it).
     * CloudFront's form is the address and the viewer's port: "203.0.113.9:52341", "2001:db8::7:443" (no brackets),
     * or "[2001:db8::7]:443". The port is dropped; an IPv6 address counts as its /64 (one client's network), so a new
     * connection, or a new address of the same network, is not a new client for the rate limits.
     */
    static String clientFrom(io.javalin.http.Context ctx, String header) {
        String v = header == null ? null : ctx.header(header);
        if (v == null || v.isBlank() || v.length() > 64) {
            return ctx.ip();
        }
        v = v.trim();
        String host;
        if (v.startsWith("[") && v.indexOf(']') > 0) {
            host = v.substring(1, v.indexOf(']'));
        } else {
            int colon = v.lastIndexOf(':');
            host = colon > 0 && v.substring(colon + 1).matches("[0-9]{1,5}") ? v.substring(0, colon) : v;
        }
        String client = address(host);
        return client != null ? client : ctx.ip();
    }

    /** An IPv4 address as it is, an IPv6 address as its /64; null when it is not an address (no name is looked up). */
    static String address(String literal) {
        if (!literal.matches("[0-9A-Fa-f.:]{2,45}") || !literal.contains(".") && !literal.contains(":")) {
            return null;
        }
        try {
            byte[] b = java.net.InetAddress.getByName(literal).getAddress(); // a literal: parsed, never resolved
            if (b.length == 4) {
                return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
            }
            return String.format("%x:%x:%x:%x::/64", ((b[0] & 0xff) << 8) | (b[1] & 0xff), ((b[2] & 0xff) << 8) | (b[3] & 0xff),
                    ((b[4] & 0xff) << 8) | (b[5] & 0xff), ((b[6] & 0xff) << 8) | (b[7] & 0xff));
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }
}
