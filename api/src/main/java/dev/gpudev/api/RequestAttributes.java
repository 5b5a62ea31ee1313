package dev.gpudev.api;

/** What the API keeps on a request while it is handled (Javalin context attributes). */
final class RequestAttributes {
    /** When it came in (nanoTime), for the request-duration metric. */
    static final String STARTED = "gpudev.started";
    /** Its id, echoed in X-Request-Id and the audit log. */
    static final String REQUEST_ID = "gpudev.request-id";
    /** Who a login was for, when no key was sent (the audit log names them). */
    static final String AUDIT_USER = "gpudev.audit-user";

    private RequestAttributes() {
    }
}
