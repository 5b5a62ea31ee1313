package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuType;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Usage;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The cluster at a glance: GPUs per type (availability) and reservations by state (status), from one usage query. */
final class ClusterRoutes {
    private final ApiServer.Parts p;
    private final CapacityView capacity;

    ClusterRoutes(ApiServer.Parts parts, CapacityView capacity) {
        this.p = parts;
        this.capacity = capacity;
    }

    void register(Router r) {
        r.get("/v1/cluster/status", Access.USER, this::status);
        r.get("/v1/gpu/availability", Access.USER, this::availability);
    }

    private void status(Context ctx) {
        Capacity cap = capacity.current();
        Usage usage = p.db().query(c -> p.reservations().usage(c));
        Map<String, Long> byState = new LinkedHashMap<>();
        for (ReservationStatus s : List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE)) {
            byState.put(s.wire(), (long) usage.count(s));
        }
        Map<String, Object> byType = new LinkedHashMap<>();
        for (String type : cap.nodes().stream().map(Capacity.Node::gpuType).distinct().toList()) {
            Usage.OfType u = usage.of(type);
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("nodes", cap.nodes().stream().filter(n -> n.gpuType().equals(type)).count());
            t.put("total_gpus", cap.totalGpus(type));
            t.put("in_use", u.gpusInUse());
            t.put("queued", u.queued());
            t.put("queued_gpus", u.queuedGpus());
            byType.put(type, t);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("total_gpus", cap.nodes().stream().mapToInt(n -> n.gpus().size()).sum());
        out.put("gpus_in_use", usage.gpusInUse());
        out.put("reservations_by_state", byState);
        out.put("by_gpu_type", byType);
        ctx.json(out);
    }

    private void availability(Context ctx) {
        Capacity cap = capacity.current();
        Usage usage = p.db().query(c -> p.reservations().usage(c));
        List<Map<String, Object>> types = new ArrayList<>();
        for (GpuType t : p.catalog().all()) {
            int total = cap.totalGpus(t.name());
            Usage.OfType u = usage.of(t.name());
            if (total == 0 && u.gpusInUse() == 0 && u.queued() == 0) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gpu_type", t.name());
            m.put("total", total);
            m.put("in_use", u.gpusInUse());
            m.put("queued", u.queued());
            m.put("queued_gpus", u.queuedGpus());
            m.put("available", Math.max(0, total - u.gpusInUse()));
            m.put("max_per_node", cap.maxPerNode(t.name()));
            m.put("simulated", cap.nodes().stream().anyMatch(n -> n.gpuType().equals(t.name()) && n.simulated()));
            types.add(m);
        }
        ctx.json(Map.of("gpu_types", types));
    }
}
