package dev.gpudev.api;

import io.javalin.security.RouteRole;

/** Who may call a route: checked once, before the handler runs (Javalin's route roles). */
enum Access implements RouteRole {
    /** Anyone, without a key (health, docs, logins). */
    ANYONE,
    /** Any logged-in user; what they may see or change within it is the handler's (ownership). */
    USER,
    /**
     * A logged-in user with their API key, not the dashboard's session: what makes new credentials (keys,
     * login links, SSH keys). A stolen browser session must not outlive its own 12 hours or its user's keys.
     */
    USER_WITH_KEY,
    /** Admins only. */
    ADMIN,
    /** Scrapes from this machine, or an admin's key (metrics). */
    LOCAL_OR_ADMIN
}
