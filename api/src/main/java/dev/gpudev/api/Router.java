package dev.gpudev.api;

import io.javalin.Javalin;
import io.javalin.http.Handler;

import java.util.ArrayList;
import java.util.List;

/** Registers routes, each with who may call it, and remembers them all (the OpenAPI document must name exactly these). */
final class Router {
    private final Javalin app;
    private final List<String> routes = new ArrayList<>();

    Router(Javalin app) {
        this.app = app;
    }

    void get(String path, Access access, Handler h) {
        routes.add("GET " + path);
        app.get(path, h, access);
    }

    void post(String path, Access access, Handler h) {
        routes.add("POST " + path);
        app.post(path, h, access);
    }

    void put(String path, Access access, Handler h) {
        routes.add("PUT " + path);
        app.put(path, h, access);
    }

    void delete(String path, Access access, Handler h) {
        routes.add("DELETE " + path);
        app.delete(path, h, access);
    }

    List<String> routes() {
        return List.copyOf(routes);
    }
}
