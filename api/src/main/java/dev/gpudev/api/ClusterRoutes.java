package dev.gpudev.api;

import dev.gpudev.core.GpuCatalog;
import dev.gpudev.store.UsageSamples;
import java.time.Clock;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuType;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Usage;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The cluster at a glance: GPUs per type (availability) and reservations by state (status), from one usage query. */
final class ClusterRoutes {
    private final Database db;
    private final Reservations reservations;
    private final ReservationUsers reservationUsers;
    private final GpuCatalog catalog;
    private final Clock clock;
    private final UsageSamples usageSamples;
    private final CapacityView capacity;

    ClusterRoutes(Database db, Reservations reservations, ReservationUsers reservationUsers, GpuCatalog catalog, Clock clock, UsageSamples usageSamples, CapacityView capacity) {
        this.db = db;
        this.reservations = reservations;
        this.reservationUsers = reservationUsers;
        this.catalog = catalog;
        this.clock = clock;
        this.usageSamples = usageSamples;
        this.capacity = capacity;
    }

    void register(Router r) {
        r.get("/v1/cluster/status", Access.USER, this::status);
        r.get("/v1/gpu/availability", Access.USER, this::availability);
        r.get("/v1/cluster/occupancy", Access.USER, this::occupancy);
        r.get("/v1/cluster/history", Access.USER, this::history);
    }

    /** Waiting reservations shown per type: the head of the queue (the counts cover the rest). */
    static final int QUEUE_SHOWN = 100;

    /**
     * Who holds each GPU, until when, and who waits for each type in queue order: what the dashboard's
     * cluster page and `gpu-dev queue` show. Everyone sees who holds and waits (user and reservation
     * name, as on a shared machine's process list); ids, SSH details and actions only for their own.
     */
    /** The windows booked ahead on this type, soonest first: who, when, how many GPUs, on which nodes. */
    private List<Map<String, Object>> bookings(String type, List<Reservation> all, Caller who, Set<UUID> shared) {
        List<Map<String, Object>> out = new ArrayList<>();
        all.stream().filter(r -> r.gpuType().equals(type)).sorted(java.util.Comparator.comparing((Reservation r) -> r.options().startAt()))
                .forEach(r -> {
                    Map<String, Object> b = holder(r, who, shared);
                    b.put("gpu_count", r.gpuCount());
                    b.put("start_at", r.options().startAt());
                    b.put("end_at", r.options().startAt().plus(dev.gpudev.core.Extension.toDuration(r.durationHours())));
                    b.put("nodes", r.queue() == null ? List.of() : r.queue().plannedNodes());
                    b.put("on_time", "BOOKED".equals(r.pendingReason()));
                    out.add(b);
                });
        return out;
    }

    private void occupancy(Context ctx) {
        Caller who = Callers.of(ctx);
        Capacity cap = capacity.current();
        Set<String> types = new LinkedHashSet<>();
        cap.nodes().forEach(n -> types.add(n.gpuType()));
        record Read(Usage usage, dev.gpudev.store.ReservationQueue.Occupancy occupancy, Set<UUID> shared, List<Reservation> bookings) {
        }
        Read read = db.query(c -> {
            Usage usage = reservations.usage(c);
            types.addAll(usage.byType().keySet());
            return new Read(usage, reservations.queue().occupancy(c, types, QUEUE_SHOWN), reservationUsers.liveSharedWith(c, who.userId()),
                    reservations.queue().bookings(c));
        });
        Map<String, List<Reservation>> holdersByNode = new LinkedHashMap<>();
        for (Reservation r : read.occupancy().holding()) {
            if (r.placement() != null) {
                for (var slice : r.placement().slices()) {
                    holdersByNode.computeIfAbsent(slice.node(), n -> new ArrayList<>()).add(r);
                }
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (String type : types) {
            Map<String, Object> t = figures(type, cap, read.usage().of(type));
            List<Map<String, Object>> nodes = new ArrayList<>();
            for (Capacity.Node n : cap.nodes()) {
                if (n.gpuType().equals(type)) {
                    nodes.add(node(n, holdersByNode.getOrDefault(n.name(), List.of()), who, read.shared()));
                }
            }
            t.put("nodes", nodes);
            List<Map<String, Object>> queue = new ArrayList<>();
            for (Reservation r : read.occupancy().waiting()) {
                if (r.gpuType().equals(type)) {
                    Map<String, Object> q = holder(r, who, read.shared());
                    q.put("position", r.queuePosition());
                    q.put("gpu_count", r.gpuCount());
                    q.put("duration_hours", r.durationHours());
                    q.put("created_at", r.createdAt());
                    q.put("estimated_start_at", r.estimatedStart());
                    q.put("pending_reason", r.pendingReason());
                    queue.add(q);
                }
            }
            t.put("queue", queue);
            t.put("bookings", bookings(type, read.bookings(), who, read.shared()));
            out.add(t);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("generated_at", clock.instant());
        body.put("gpu_types", out);
        ctx.json(body);
    }

    /** A type's GPUs in figures, as `avail` shows them and the cluster page heads each type with them. */
    private static Map<String, Object> figures(String type, Capacity cap, Usage.OfType u) {
        int total = cap.totalGpus(type);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("gpu_type", type);
        m.put("total", total);
        m.put("in_use", u.gpusInUse());
        m.put("queued", u.queued());
        m.put("queued_gpus", u.queuedGpus());
        m.put("available", Math.max(0, total - u.gpusInUse()));
        m.put("max_per_node", cap.maxPerNode(type));
        return m;
    }

    /** A node's GPUs, each free or held; a backend that names no devices (Kubernetes) fills the node's GPUs in order. */
    private static Map<String, Object> node(Capacity.Node n, List<Reservation> holders, Caller who, Set<UUID> shared) {
        Map<Integer, Map<String, Object>> cells = new java.util.TreeMap<>();
        for (int g : n.gpus()) {
            cells.put(g, null);
        }
        List<Reservation> unnamed = new ArrayList<>();
        for (Reservation r : holders) {
            for (var slice : r.placement().slices()) {
                if (!slice.node().equals(n.name())) {
                    continue;
                }
                if (slice.devices() == null || slice.devices().isEmpty()) {
                    for (int i = 0; i < slice.gpuCount(); i++) {
                        unnamed.add(r);
                    }
                } else {
                    slice.devices().forEach(d -> cells.put(d, holder(r, who, shared)));
                }
            }
        }
        for (Reservation r : unnamed) {
            cells.entrySet().stream().filter(e -> e.getValue() == null).findFirst()
                    .ifPresent(e -> e.setValue(holder(r, who, shared)));
        }
        List<Map<String, Object>> gpus = new ArrayList<>();
        cells.forEach((index, holder) -> {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("index", index);
            g.put("holder", holder);
            gpus.add(g);
        });
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", n.name());
        m.put("simulated", n.simulated());
        m.put("gpus", gpus);
        return m;
    }

    private static Map<String, Object> holder(Reservation r, Caller who, Set<UUID> shared) {
        boolean mine = r.userId() == who.userId();
        boolean sharedWithMe = shared.contains(r.id());
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("job_id", mine || sharedWithMe || who.admin() ? r.id() : null);
        h.put("user", r.username());
        h.put("name", r.name());
        h.put("status", r.status().wire());
        h.put("expires_at", r.expiresAt());
        h.put("mine", mine);
        h.put("shared", sharedWithMe);
        return h;
    }

    /** GPUs in use and asked for per type, a sample a minute, over the last hours (24 unless asked). */
    private void history(Context ctx) {
        int hours = Params.boundedInt(ctx.queryParam("hours"), 24, 1, 24 * 7, "hours");
        java.time.Instant since = clock.instant().minus(java.time.Duration.ofHours(hours));
        var samples = db.query(c -> usageSamples.since(c, since));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("since", since);
        body.put("samples", samples.stream().map(s -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("at", s.at());
            m.put("gpu_type", s.gpuType());
            m.put("total", s.totalGpus());
            m.put("in_use", s.inUse());
            m.put("queued", s.queued());
            m.put("queued_gpus", s.queuedGpus());
            return m;
        }).toList());
        ctx.json(body);
    }

    private void status(Context ctx) {
        Capacity cap = capacity.current();
        Usage usage = db.query(c -> reservations.usage(c));
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
        Capacity reach = capacity.reachable();
        Usage usage = db.query(c -> reservations.usage(c));
        List<Map<String, Object>> types = new ArrayList<>();
        for (GpuType t : catalog.all()) {
            int total = cap.totalGpus(t.name());
            int onDemand = reach.totalGpus(t.name()) - total;
            Usage.OfType u = usage.of(t.name());
            if (total == 0 && onDemand == 0 && u.gpusInUse() == 0 && u.queued() == 0) {
                continue;
            }
            Map<String, Object> m = figures(t.name(), cap, u);
            // GPUs an elastic pool may still start for those who wait (a node in minutes): not available now
            m.put("on_demand", onDemand);
            m.put("simulated", cap.nodes().stream().anyMatch(n -> n.gpuType().equals(t.name()) && n.simulated()));
            types.add(m);
        }
        ctx.json(Map.of("gpu_types", types));
    }
}
