package dev.gpudev.api;

import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Usage;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What needs no login: the index, health, the API's documents; and metrics (local scrapes or admins). */
final class SystemRoutes {
    private final Database db;
    private final Reservations reservations;
    private final Pgmq pgmq;
    private final CommandQueue commands;
    private final Metrics metrics;
    private final CapacityView capacity;

    SystemRoutes(Database db, Reservations reservations, Pgmq pgmq, CommandQueue commands, Metrics metrics, CapacityView capacity) {
        this.db = db;
        this.reservations = reservations;
        this.pgmq = pgmq;
        this.commands = commands;
        this.metrics = metrics;
        this.capacity = capacity;
    }

    void register(Router r) {
        r.get("/", Access.ANYONE, ctx -> ctx.json(Map.of("service", "gpudev", "api", "/v1", "health", "/health", "docs", "/docs")));
        r.get("/health", Access.ANYONE, this::health);
        r.get("/openapi.json", Access.ANYONE, ctx -> ctx.contentType("application/json").result(OpenApi.document()));
        r.get("/docs", Access.ANYONE, ctx -> ctx.html(OpenApi.swaggerPage()));
        r.get("/metrics", Access.LOCAL_OR_ADMIN, this::metrics);
    }

    /** 200 when every part answers; else 503 naming the part that does not (never a 500). */
    private void health(Context ctx) {
        boolean dbOk = db.isHealthy();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", dbOk ? "ok" : "degraded");
        out.put("database", dbOk ? "ok" : "unreachable");
        boolean queueOk = false;
        if (dbOk) {
            try {
                var m = db.query(c -> pgmq.metrics(c, commands.queue()));
                out.put("queue", Map.of("name", m.queueName(), "length", m.queueLength(),
                        "oldest_msg_age_sec", m.oldestMsgAgeSec() == null ? 0 : m.oldestMsgAgeSec()));
                queueOk = true;
            } catch (RuntimeException e) {
                out.put("status", "degraded");
                out.put("queue", Map.of("name", commands.queue(), "problem",
                        "the command queue cannot be read (missing? it is made again when a server starts)"));
            }
        } else {
            out.put("queue", "unknown");
        }
        boolean ok = dbOk && queueOk;
        if (!ok) {
            ctx.header("Retry-After", "2");
        }
        ctx.status(ok ? 200 : 503).json(out);
    }

    /** Prometheus text: request metrics, the queue, reservations by state, GPUs in use and free by type. */
    private void metrics(Context ctx) {
        StringBuilder out = new StringBuilder();
        metrics.write(out);
        var m = db.query(c -> pgmq.metrics(c, commands.queue()));
        Metrics.gauge(out, "gpudev_queue_depth", "Commands waiting in the queue.", Map.of("", m.queueLength()), null);
        Metrics.gauge(out, "gpudev_queue_oldest_message_age_seconds", "Age of the oldest queued command.",
                Map.of("", m.oldestMsgAgeSec() == null ? 0 : m.oldestMsgAgeSec()), null);
        Usage usage = db.query(c -> reservations.usage(c));
        Map<String, Number> byState = new LinkedHashMap<>();
        for (ReservationStatus st : List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE)) {
            byState.put(st.wire(), usage.count(st));
        }
        Metrics.gauge(out, "gpudev_reservations", "Live reservations by state.", byState, "state");
        Capacity cap = capacity.current();
        Map<String, Number> inUse = new LinkedHashMap<>();
        Map<String, Number> free = new LinkedHashMap<>();
        for (String type : cap.nodes().stream().map(Capacity.Node::gpuType).distinct().toList()) {
            int used = usage.of(type).gpusInUse();
            inUse.put(type, used);
            free.put(type, Math.max(0, cap.totalGpus(type) - used));
        }
        Metrics.gauge(out, "gpudev_gpus_in_use", "GPUs held by reservations, by type.", inUse, "gpu_type");
        Metrics.gauge(out, "gpudev_gpus_free", "GPUs free, by type.", free, "gpu_type");
        ctx.contentType("text/plain; version=0.0.4").result(out.toString());
    }
}
