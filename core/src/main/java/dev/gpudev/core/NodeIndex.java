package dev.gpudev.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The nodes of a cycle, each with its timeline of free GPUs, and per GPU type and count k every node's
 * stretches of at least k free GPUs in one {@link StretchIndex}. A search for {@code d} from {@code t}
 * asks it two questions, each a walk down a tree: does a stretch hold {@code [t, t + d)} (then the
 * answer starts at t), else which stretch of at least d starts first after t. Neither reads every node,
 * however many nodes and however deep the queue; a placement replaces only the stretches it touches.
 */
final class NodeIndex {
    /** A start on a node; the node is null when there is none. */
    record Slot(Capacity.Node node, long start) {
    }

    /**
     * How many nodes that can all start at the answer's time are compared for the best fit (fewest GPUs
     * left free then). A perfect fit ends the search at once; past this many, the best of them is taken.
     */
    static final int FIT_CANDIDATES = 64;

    private final Map<String, List<Capacity.Node>> nodesByType = new HashMap<>();
    private final Map<String, Timeline> timelines = new HashMap<>();
    private final Map<String, Integer> numbers = new HashMap<>();
    private final List<Capacity.Node> byNumber = new ArrayList<>();
    private final List<Timeline> timelineByNumber = new ArrayList<>();
    /** Per type, per k asked for in this cycle: the stretches of at least k free GPUs. */
    private final Map<String, Map<Integer, StretchIndex>> stretches = new HashMap<>();

    NodeIndex(Capacity capacity, long now) {
        for (Capacity.Node node : capacity.nodes()) {
            if (timelines.containsKey(node.name())) {
                continue; // a node is its name: one timeline, one set of stretches
            }
            nodesByType.computeIfAbsent(node.gpuType(), t -> new ArrayList<>()).add(node);
            Timeline t = new Timeline(now, node.gpus().size());
            timelines.put(node.name(), t);
            numbers.put(node.name(), byNumber.size());
            byNumber.add(node);
            timelineByNumber.add(t);
        }
    }

    boolean has(String node) {
        return timelines.containsKey(node);
    }

    Timeline timeline(String node) {
        return timelines.get(node);
    }

    /** The node of that name (one this index has). */
    Capacity.Node node(String name) {
        return byNumber.get(numbers.get(name));
    }

    List<Capacity.Node> nodes(String type) {
        return nodesByType.getOrDefault(type, List.of());
    }

    private StretchIndex stretches(String type, int k) {
        return stretches.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> {
            StretchIndex index = new StretchIndex();
            for (Capacity.Node node : nodes(type)) {
                if (node.gpus().size() >= kk) {
                    int n = numbers.get(node.name());
                    timelines.get(node.name()).stretchesTouching(kk, Long.MIN_VALUE, Long.MAX_VALUE, (from, until) -> index.add(n, from, until));
                }
            }
            return index;
        });
    }

    /**
     * Reserves k GPUs of a node from start until end, and in every index of its type replaces the node's
     * stretches that this touches: those gone are removed, those with a new end changed in place, new
     * ones added (most placements in a deep queue shorten or split one stretch at the tail).
     */
    void reserve(Capacity.Node node, long start, long end, int k) {
        Timeline timeline = timelines.get(node.name());
        Map<Integer, StretchIndex> ofType = stretches.getOrDefault(node.gpuType(), Map.of());
        int n = numbers.get(node.name());
        List<long[]> before = new ArrayList<>(ofType.size());
        for (var e : ofType.entrySet()) {
            before.add(node.gpus().size() >= e.getKey() ? touching(timeline, e.getKey(), start, end) : null);
        }
        timeline.reserve(start, end, k);
        int i = 0;
        for (var e : ofType.entrySet()) {
            long[] old = before.get(i++);
            if (old != null) {
                replace(e.getValue(), n, old, touching(timeline, e.getKey(), start, end));
            }
        }
    }

    /** The stretches of at least k that touch [start, end], as start, end, start, end... */
    private static long[] touching(Timeline timeline, int k, long start, long end) {
        long[][] out = {new long[8]};
        int[] count = {0};
        timeline.stretchesTouching(k, start, end, (from, until) -> {
            if (count[0] + 2 > out[0].length) {
                out[0] = java.util.Arrays.copyOf(out[0], out[0].length * 2);
            }
            out[0][count[0]++] = from;
            out[0][count[0]++] = until;
        });
        return java.util.Arrays.copyOf(out[0], count[0]);
    }

    private static void replace(StretchIndex index, int n, long[] old, long[] now) {
        for (int i = 0; i < old.length; i += 2) {
            if (find(now, old[i]) < 0) {
                index.remove(n, old[i]);
            }
        }
        for (int j = 0; j < now.length; j += 2) {
            int i = find(old, now[j]);
            if (i < 0) {
                index.add(n, now[j], now[j + 1]);
            } else if (old[i + 1] != now[j + 1]) {
                index.setEnd(n, now[j], now[j + 1]);
            }
        }
    }

    private static int find(long[] pairs, long from) {
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i] == from) {
                return i;
            }
        }
        return -1;
    }

    /** Keeps the best fit among the nodes offered: the fewest GPUs left free at the start. */
    private final class Fit implements StretchIndex.Visitor {
        final int k;
        int best = -1;
        int bestFree = Integer.MAX_VALUE;
        long at;
        int seen;

        Fit(int k) {
            this.k = k;
        }

        @Override
        public boolean visit(int node, long stretchStart) {
            int freeThen = timelineByNumber.get(node).freeAt(at);
            if (freeThen < bestFree) {
                best = node;
                bestFree = freeThen;
            }
            return freeThen == k || ++seen >= FIT_CANDIDATES;
        }

        Slot slot() {
            return best < 0 ? null : new Slot(byNumber.get(best), at);
        }
    }

    /**
     * The node of the type where k GPUs are free soonest (at or after notBefore) for the duration; among
     * those free then, the best fit, whether that is now or later: a plan must choose the node its
     * admission will choose when the time comes, or the estimates of everyone planned after it are wrong.
     */
    Slot earliest(String type, int k, long asked, long notBefore) {
        long duration = Math.max(1, asked); // a stretch must hold at least the start itself
        if (notBefore > Long.MAX_VALUE - duration) {
            return new Slot(null, Long.MAX_VALUE); // never: no start that late has an end
        }
        StretchIndex index = stretches(type, k);
        Fit fit = new Fit(k);
        fit.at = notBefore;
        index.holding(notBefore, notBefore + duration, fit);
        if (fit.best >= 0) {
            return fit.slot();
        }
        long first = index.firstAfter(notBefore, duration);
        if (first == Long.MAX_VALUE) {
            return new Slot(null, Long.MAX_VALUE);
        }
        fit.at = first;
        index.startingAt(first, duration, fit);
        return fit.slot();
    }

    /** The same question over a given list of nodes (when labels narrow them): a plain scan. */
    Slot earliestAmong(List<Capacity.Node> nodes, int k, long duration, long notBefore) {
        Capacity.Node best = null;
        long bestStart = Long.MAX_VALUE;
        int bestFree = Integer.MAX_VALUE;
        for (Capacity.Node node : nodes) {
            if (node.gpus().size() < k) {
                continue;
            }
            Timeline t = timelines.get(node.name());
            long s = t.earliest(k, duration, notBefore, Long.MAX_VALUE);
            int freeThen = s == Long.MAX_VALUE ? Integer.MAX_VALUE : t.freeAt(s);
            if (s < bestStart || (s == bestStart && freeThen < bestFree)) {
                best = node;
                bestStart = s;
                bestFree = freeThen;
            }
        }
        return new Slot(best, bestStart);
    }
}
