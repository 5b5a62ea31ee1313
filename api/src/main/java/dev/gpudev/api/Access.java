package dev.gpudev.api;

import io.javalin.security.RouteRole;

/** Who may call a route: checked once, before the handler runs (Javalin's route roles). */
enum Access implements RouteRole {
    /** Anyone, without a key (health, docs, logins). */
    ANYONE,
    /** Any logged-in user; what they may see or change within it is the handler's (ownership). */
    USER,
    /** Admins only. */
    ADMIN,
    /** Scrapes from this machine, or an admin's key (metrics). */
    LOCAL_OR_ADMIN
}
