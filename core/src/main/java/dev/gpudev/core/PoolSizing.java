package dev.gpudev.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How many nodes each elastic GPU pool should have, from the queue: a pure decision. A pool grows when
 * reservations of its type have waited a while and nothing that exists or is starting would start them sooner
 * than a new node; it shrinks by an empty node once nothing waits for its type and the node has been empty a
 * while. Never beyond its max, never below its min, never a node something runs on, at most one node removed
 * per type per decision (no flapping: a grow waits for the demand to persist, a shrink for emptiness to).
 */
public final class PoolSizing {
    private PoolSizing() {
    }

    /**
     * A pool as it stands.
     *
     * @param desired the nodes it is asked to have now
     * @param nodes   its nodes that exist (ready, in the capacity)
     */
    public record Pool(String gpuType, int gpusPerNode, int min, int max, int desired, List<String> nodes) {
        public Pool {
            nodes = List.copyOf(nodes);
        }

        /** Nodes asked for that do not exist yet. */
        public int starting() {
            return Math.max(0, desired - nodes.size());
        }
    }

    /**
     * Reservations waiting for a pool's type that no existing or starting node would start as soon as a new one:
     * {@code count} of them, each of {@code gpus} GPUs (whole nodes when distributed).
     */
    public record Demand(String gpuType, int gpus, boolean distributed, int count, Map<String, String> labels) {
        public Demand {
            labels = labels == null ? Map.of() : Map.copyOf(labels);
        }

        public Demand(String gpuType, int gpus, boolean distributed, int count) {
            this(gpuType, gpus, distributed, count, Map.of());
        }
    }

    /** How long a node stays empty before it goes. */
    public record Settings(Duration scaleDownAfter) {
    }

    /**
     * What to do: pools to grow (type → new desired size) and empty nodes to remove (node → type).
     */
    public record Decision(Map<String, Integer> grow, Map<String, String> remove) {
        public static final Decision NONE = new Decision(Map.of(), Map.of());

        public boolean isEmpty() {
            return grow.isEmpty() && remove.isEmpty();
        }
    }

    public static Decision decide(List<Pool> pools, List<Demand> demand, Set<String> busyNodes, Map<String, Instant> emptySince, Instant now,
                                  Settings settings) {
        Map<String, Integer> grow = new LinkedHashMap<>();
        Map<String, String> remove = new LinkedHashMap<>();
        for (Pool pool : pools) {
            List<Demand> mine = demand.stream().filter(d -> d.gpuType().equals(pool.gpuType()) && d.count() > 0).toList();
            int needed = nodesFor(mine, pool.gpusPerNode());
            int target = Math.min(pool.max(), pool.nodes().size() + pool.starting() + needed);
            if (needed > 0 && target > pool.desired()) {
                grow.put(pool.gpuType(), target);
                continue;
            }
            if (!mine.isEmpty() || pool.starting() > 0 || pool.nodes().size() <= pool.min()) {
                continue;
            }
            pool.nodes().stream()
                    .filter(n -> !busyNodes.contains(n))
                    .filter(n -> emptySince.containsKey(n) && !emptySince.get(n).plus(settings.scaleDownAfter()).isAfter(now))
                    .min(Comparator.comparing(emptySince::get))
                    .ifPresent(n -> remove.put(n, pool.gpuType()));
        }
        return grow.isEmpty() && remove.isEmpty() ? Decision.NONE : new Decision(grow, remove);
    }

    /**
     * Nodes that would hold these reservations: a distributed one takes whole nodes; the others are packed, largest
     * first, into nodes of {@code gpusPerNode} GPUs (first fit).
     */
    static int nodesFor(List<Demand> demand, int gpusPerNode) {
        int nodes = 0;
        List<Integer> pieces = new ArrayList<>();
        for (Demand d : demand) {
            for (int i = 0; i < d.count(); i++) {
                if (d.distributed() || d.gpus() >= gpusPerNode) {
                    nodes += (d.gpus() + gpusPerNode - 1) / gpusPerNode;
                } else {
                    pieces.add(d.gpus());
                }
            }
            if (pieces.size() > 100_000) {
                break; // more than any pool's max: the count no longer matters
            }
        }
        pieces.sort(Comparator.reverseOrder());
        List<Integer> free = new ArrayList<>();
        for (int p : pieces) {
            int at = -1;
            for (int i = 0; i < free.size(); i++) {
                if (free.get(i) >= p) {
                    at = i;
                    break;
                }
            }
            if (at < 0) {
                free.add(gpusPerNode - p);
            } else {
                free.set(at, free.get(at) - p);
            }
        }
        return nodes + free.size();
    }
}
