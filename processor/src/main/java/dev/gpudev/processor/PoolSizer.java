package dev.gpudev.processor;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.NodePools;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.PoolSizing;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.Database;
import dev.gpudev.store.Reservations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * Sizes the backend's elastic GPU pools from the queue ({@link PoolSizing} decides), every few seconds, off the
 * loop (the cloud's calls are {@link BackendCall}s with deadlines), and tells the scheduler about nodes asked for
 * that do not exist yet: each is a node of the pool's size and labels whose GPUs are held until it is expected (the
 * time the pool's nodes took to start, measured), so the reservations it is for are planned onto it, with that
 * start as their estimate. Nodes empty for a while go (never planned on again, then removed: that node, never
 * another). Nodes asked for that do not join in three times the expected start are given up (the pool set back to
 * what exists, said in the log) and the pool is not grown again for half an hour (a quota, no capacity).
 */
final class PoolSizer {
    private static final Logger log = LoggerFactory.getLogger(PoolSizer.class);

    private final Database db;
    private final Reservations reservations;
    private final Backend backend;
    private final Clock clock;
    private final BackendCalls calls;
    private Duration scaleUpAfter = Duration.ofSeconds(30);
    private Duration scaleDownAfter = Duration.ofMinutes(10);
    private Duration decideEvery = Duration.ofSeconds(10);
    /** How long a pool's node takes from being asked for to being ready: measured, this until then. */
    private Duration nodeStart = Duration.ofMinutes(5);

    private final Map<String, Integer> desired = new HashMap<>();
    private final Map<String, Instant> askedAt = new HashMap<>();
    private final Map<String, Integer> nodesSeen = new HashMap<>();
    private final Map<String, Instant> emptySince = new HashMap<>();
    /** Nodes being removed: never planned on again (until they are gone, or their removal failed). */
    private final Set<String> leaving = new HashSet<>();
    /** Pools whose asked nodes never came: not grown again before this. */
    private final Map<String, Instant> holdOffUntil = new HashMap<>();
    static final Duration HOLD_OFF = Duration.ofMinutes(30);
    private Instant decidedAt;

    /** What the scheduler adds after a holder's end (the grace period): a placeholder ends that much before its node is expected. */
    private final Duration grace;

    PoolSizer(Database db, Reservations reservations, Backend backend, Clock clock, BackendCalls calls, Duration grace) {
        this.grace = grace;
        this.db = db;
        this.reservations = reservations;
        this.backend = backend;
        this.clock = clock;
        this.calls = calls;
    }

    /** Tests on an injected clock set their own times. */
    PoolSizer tune(Duration up, Duration down, Duration every, Duration start) {
        scaleUpAfter = up;
        scaleDownAfter = down;
        decideEvery = every;
        nodeStart = start;
        return this;
    }

    Duration nodeStart() {
        return nodeStart;
    }

    private List<NodePools.Pool> pools() {
        return backend.nodePools().map(NodePools::pools).orElse(List.of());
    }

    /**
     * The nodes that exist and, per pool, those it may still start (up to its max), labelled {@link Capacity#POTENTIAL}:
     * what the API checks a request against (a type at zero nodes may be reserved), never what is planned on.
     */
    Capacity withPotential(Capacity capacity) {
        List<NodePools.Pool> pools = pools();
        if (pools.isEmpty()) {
            return capacity;
        }
        List<Capacity.Node> nodes = new ArrayList<>(capacity.nodes());
        for (NodePools.Pool pool : pools) {
            int real = realNodes(capacity, pool).size();
            for (int i = real; i < pool.max(); i++) {
                Map<String, String> labels = new HashMap<>(pool.labels());
                labels.put(Capacity.POTENTIAL, "true");
                nodes.add(new Capacity.Node("potential-" + pool.gpuType() + "-" + (i + 1), pool.gpuType(),
                        IntStream.range(0, pool.gpusPerNode()).boxed().toList(), false, labels));
            }
        }
        return new Capacity(nodes);
    }

    /** What the scheduler plans on: the nodes that exist, and those asked for that do not yet, with their holders. */
    record Planned(Capacity capacity, List<Reservation> placeholders) {
    }

    Planned planned(Capacity capacity) {
        List<NodePools.Pool> pools = pools();
        if (pools.isEmpty()) {
            return new Planned(capacity, List.of());
        }
        Instant now = clock.instant();
        List<Capacity.Node> nodes = new ArrayList<>(capacity.nodes().stream().filter(n -> !leaving.contains(n.name())).toList());
        List<Reservation> holders = new ArrayList<>();
        for (NodePools.Pool pool : pools) {
            Integer want = desired.get(pool.gpuType());
            if (want == null) {
                continue;
            }
            int starting = want - staying(capacity, pool).size();
            // expected when the pool's nodes take to start after the ask; a late one is expected a minute on (whole
            // minutes: the plan changes once a minute at most while it is late)
            Instant at = askedAt.getOrDefault(pool.gpuType(), now).plus(nodeStart);
            if (!at.isAfter(now)) {
                at = now.truncatedTo(ChronoUnit.MINUTES).plus(Duration.ofMinutes(1));
            }
            for (int i = 0; i < starting; i++) {
                String name = "starting-" + pool.gpuType() + "-" + (i + 1);
                nodes.add(new Capacity.Node(name, pool.gpuType(), IntStream.range(0, pool.gpusPerNode()).boxed().toList(), true, pool.labels()));
                holders.add(placeholder(pool, name, at.minus(grace), now));
            }
        }
        return new Planned(new Capacity(nodes), holders);
    }

    /** A node asked for, held whole until it is expected: nothing is admitted onto it, everything waits for it. */
    private static Reservation placeholder(NodePools.Pool pool, String node, Instant at, Instant now) {
        UUID id = UUID.nameUUIDFromBytes(("pool-node:" + node).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return new Reservation(id, 0, "gpudev", ReservationStatus.ACTIVE, pool.gpuType(), pool.gpusPerNode(), BigDecimal.ONE, null, now, now, at,
                Reservation.Placement.of(node, pool.gpusPerNode()), null, null, "a node starting", null,
                new Reservation.Lifecycle(List.of(), now, null, true, now, false,
                        Reservation.Options.NONE.withPriority(dev.gpudev.core.PriorityClass.HIGH)), List.of());
    }

    /** A pool's nodes that exist and are not being removed. */
    private List<String> staying(Capacity capacity, NodePools.Pool pool) {
        return realNodes(capacity, pool).stream().filter(n -> !leaving.contains(n)).toList();
    }

    private static List<String> realNodes(Capacity capacity, NodePools.Pool pool) {
        return capacity.nodes().stream().filter(n -> n.gpuType().equals(pool.gpuType())).map(Capacity.Node::name).toList();
    }

    /** One turn: outcomes of earlier calls read, the pools' sizes known, emptiness followed, then (now and then) decided. */
    void run(LiveSet live, Capacity capacity) {
        List<NodePools.Pool> pools = pools();
        if (pools.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        for (var o : calls.drain(BackendCall.PoolCall.class)) {
            switch (o.request()) {
                // the cloud's word, read after each decision (after this one's asks: one lane): what another replica or an
                // operator did is seen too
                case BackendCall.ReadPool r when o.ok() -> desired.put(r.pool().gpuType(), (Integer) o.result());
                case BackendCall.Resize r when !o.ok() -> {
                    log.warn("pool {}: {} ({}); its size is read again", r.pool().gpuType(), r.describe(), o.problem());
                    desired.remove(r.pool().gpuType());
                }
                case BackendCall.RemoveNode r when !o.ok() -> {
                    log.warn("pool {}: {} ({}); its size is read again", r.pool().gpuType(), r.describe(), o.problem());
                    desired.remove(r.pool().gpuType());
                    leaving.remove(r.node());
                }
                default -> {
                }
            }
        }
        Set<String> busy = new HashSet<>();
        live.all().forEach(r -> {
            if (r.placement() != null) {
                r.placement().slices().forEach(s -> busy.add(s.node()));
            }
        });
        List<PoolSizing.Pool> states = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (NodePools.Pool pool : pools) {
            List<String> nodes = staying(capacity, pool);
            for (String n : nodes) {
                if (busy.contains(n)) {
                    emptySince.remove(n);
                } else {
                    emptySince.putIfAbsent(n, now);
                }
            }
            Integer want = desired.get(pool.gpuType());
            if (want == null) {
                calls.submit(new BackendCall.ReadPool(pool));
                continue;
            }
            measure(pool, nodes.size(), want, now);
            Instant asked = askedAt.get(pool.gpuType());
            if (want > nodes.size() && asked != null && now.isAfter(asked.plus(nodeStart.multipliedBy(3)).plus(Duration.ofMinutes(5)))) {
                log.warn("pool {}: {} node(s) asked for at {} have not joined: given up, the pool set back to the {} that exist; not grown"
                        + " again before {} (a quota, or no capacity of this instance type?)", pool.gpuType(), want - nodes.size(), asked,
                        nodes.size(), now.plus(HOLD_OFF));
                desired.put(pool.gpuType(), Math.max(pool.min(), nodes.size()));
                askedAt.remove(pool.gpuType());
                holdOffUntil.put(pool.gpuType(), now.plus(HOLD_OFF));
                calls.submit(new BackendCall.Resize(pool, Math.max(pool.min(), nodes.size())));
                want = desired.get(pool.gpuType());
            }
            states.add(new PoolSizing.Pool(pool.gpuType(), pool.gpusPerNode(), pool.min(), pool.max(), want, nodes));
            types.add(pool.gpuType());
        }
        emptySince.keySet().removeIf(n -> capacity.nodes().stream().noneMatch(c -> c.name().equals(n)));
        leaving.removeIf(n -> capacity.nodes().stream().noneMatch(c -> c.name().equals(n)));
        if (states.isEmpty() || decidedAt != null && now.isBefore(decidedAt.plus(decideEvery))) {
            return;
        }
        decidedAt = now;
        // what a new node of the pool could hold: the labels a reservation asks for are the pool's own
        List<PoolSizing.Demand> demand = db.query(c -> reservations.waitingDemand(c, types, now.minus(scaleUpAfter), now.plus(nodeStart)))
                .stream().filter(d -> pools.stream().anyMatch(p -> p.gpuType().equals(d.gpuType())
                        && p.labels().entrySet().containsAll(d.labels().entrySet())
                        && now.isAfter(holdOffUntil.getOrDefault(p.gpuType(), Instant.MIN)))).toList();
        var decision = PoolSizing.decide(states, demand, busy, emptySince, now, new PoolSizing.Settings(scaleDownAfter));
        for (var grow : decision.grow().entrySet()) {
            NodePools.Pool pool = pools.stream().filter(p -> p.gpuType().equals(grow.getKey())).findFirst().orElseThrow();
            log.info("pool {}: {} reservation(s) wait that no node would start within {}; asking for {} node(s) (was {})", pool.gpuType(),
                    demand.stream().filter(d -> d.gpuType().equals(pool.gpuType())).mapToInt(PoolSizing.Demand::count).sum(),
                    nodeStart, grow.getValue(), desired.get(pool.gpuType()));
            if (desired.get(pool.gpuType()) <= realNodes(capacity, pool).size()) {
                askedAt.put(pool.gpuType(), now); // the first outstanding ask is when its nodes are expected from
            }
            desired.put(pool.gpuType(), grow.getValue());
            calls.submit(new BackendCall.Resize(pool, grow.getValue()));
        }
        for (var gone : decision.remove().entrySet()) {
            NodePools.Pool pool = pools.stream().filter(p -> p.gpuType().equals(gone.getValue())).findFirst().orElseThrow();
            log.info("pool {}: node {} has been empty since {} and nothing waits for it: it goes", pool.gpuType(), gone.getKey(),
                    emptySince.get(gone.getKey()));
            desired.merge(pool.gpuType(), -1, Integer::sum);
            emptySince.remove(gone.getKey());
            leaving.add(gone.getKey());
            calls.submit(new BackendCall.RemoveNode(pool, gone.getKey()));
        }
        for (NodePools.Pool pool : pools) {
            if (desired.containsKey(pool.gpuType())) {
                calls.submit(new BackendCall.ReadPool(pool)); // after this decision's asks, in the same lane
            }
        }
    }

    /** A pool that grew to what was asked: how long its nodes took, folded into the expected start (half and half). */
    private void measure(NodePools.Pool pool, int nodes, int want, Instant now) {
        Integer before = nodesSeen.put(pool.gpuType(), nodes);
        Instant asked = askedAt.get(pool.gpuType());
        if (before != null && nodes > before && asked != null) {
            Duration took = Duration.between(asked, now);
            nodeStart = Duration.ofMillis((nodeStart.toMillis() + took.toMillis()) / 2);
            log.info("pool {}: a node joined {} after it was asked for; nodes are now expected {} after the ask", pool.gpuType(), took, nodeStart);
            if (nodes >= want) {
                askedAt.remove(pool.gpuType());
            }
        }
    }
}
