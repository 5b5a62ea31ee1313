package dev.gpudev.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The nodes of a cycle, each with its timeline of free GPUs, and the orderings that make a search
 * cheap. Per GPU type and count k, nodes are kept ordered by the first time k of their GPUs are free
 * (a lower bound of any start there) and by the time k stay free for good (an upper bound): a search
 * visits nodes in that order and stops as soon as the bound passes the best start found, usually
 * after a handful of nodes, not all of them.
 */
final class NodeIndex {
    /** A start on a node; the node is null when there is none. */
    record Slot(Capacity.Node node, long start) {
    }

    private final Map<String, List<Capacity.Node>> nodesByType = new HashMap<>();
    private final Map<String, Timeline> timelines = new HashMap<>();
    private final Map<String, Map<Integer, TreeSet<Entry>>> byBound = new HashMap<>();
    private final Map<String, Map<Integer, TreeSet<Entry>>> byOpen = new HashMap<>();
    private final Map<String, Entry> entries = new HashMap<>();

    NodeIndex(Capacity capacity, long now) {
        for (Capacity.Node node : capacity.nodes()) {
            nodesByType.computeIfAbsent(node.gpuType(), t -> new ArrayList<>()).add(node);
            timelines.put(node.name(), new Timeline(now, node.gpus().size()));
        }
    }

    boolean has(String node) {
        return timelines.containsKey(node);
    }

    Timeline timeline(String node) {
        return timelines.get(node);
    }

    List<Capacity.Node> nodes(String type) {
        return nodesByType.getOrDefault(type, List.of());
    }

    /** A node with its bounds, one per GPU count asked for in this cycle. */
    private static final class Entry {
        final Capacity.Node node;
        final Timeline timeline;
        final int index;
        /** bounds[k]: first time k GPUs are free; -1 while k is not in use this cycle. */
        final long[] bounds;
        /** openFrom[k]: from then on k GPUs stay free; gap[k]: the longest stretch of k free GPUs before that. */
        final long[] openFrom;
        final long[] gap;

        Entry(Capacity.Node node, Timeline timeline, int index) {
            this.node = node;
            this.timeline = timeline;
            this.index = index;
            this.bounds = new long[node.gpus().size() + 1];
            this.openFrom = new long[node.gpus().size() + 1];
            this.gap = new long[node.gpus().size() + 1];
            Arrays.fill(bounds, -1);
        }
    }

    private TreeSet<Entry> ordered(String type, int k) {
        return byBound.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> {
            TreeSet<Entry> set = new TreeSet<>(Comparator.<Entry>comparingLong(e -> e.bounds[kk]).thenComparingInt(e -> e.index));
            for (Capacity.Node node : nodes(type)) {
                if (node.gpus().size() < kk) {
                    continue;
                }
                Entry e = entry(node);
                e.bounds[kk] = e.timeline.firstAtLeast(kk);
                e.openFrom[kk] = e.timeline.openFrom(kk);
                e.gap[kk] = e.timeline.longestGap(kk);
                if (e.gap[kk] > 0) {
                    set.add(e); // without a gap, a node's first free moment is its open stretch: byOpen has it
                }
                open(type, kk).add(e);
            }
            return set;
        });
    }

    private Entry entry(Capacity.Node node) {
        return entries.computeIfAbsent(node.name(), n -> new Entry(node, timelines.get(n), entries.size()));
    }

    private TreeSet<Entry> open(String type, int k) {
        return byOpen.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> new TreeSet<>(
                Comparator.<Entry>comparingLong(x -> x.openFrom[kk]).thenComparingInt(x -> x.index)));
    }

    /** Reserves k GPUs of a node from start until end and moves it to its new place in every ordering of its type. */
    void reserve(Capacity.Node node, long start, long end, int k) {
        Entry e = entries.get(node.name());
        Map<Integer, TreeSet<Entry>> sets = byBound.getOrDefault(node.gpuType(), Map.of());
        for (var set : sets.entrySet()) {
            if (e != null && e.bounds[set.getKey()] >= 0) {
                if (e.gap[set.getKey()] > 0) {
                    set.getValue().remove(e);
                }
                open(node.gpuType(), set.getKey()).remove(e);
            }
        }
        timelines.get(node.name()).reserve(start, end, k);
        for (var set : sets.entrySet()) {
            int kk = set.getKey();
            if (e != null && e.bounds[kk] >= 0) {
                long oldBound = e.bounds[kk];
                long oldOpen = e.openFrom[kk];
                e.bounds[kk] = oldBound == Long.MAX_VALUE ? oldBound : e.timeline.firstAtLeast(kk, oldBound);
                e.openFrom[kk] = e.timeline.openFrom(kk);
                // Placed in the open stretch: the gaps before it stand, only what follows is new.
                e.gap[kk] = start >= oldOpen ? Math.max(e.gap[kk], e.timeline.longestGap(kk, oldOpen)) : e.timeline.longestGap(kk);
                if (e.gap[kk] > 0) {
                    set.getValue().add(e);
                }
                open(node.gpuType(), kk).add(e);
            }
        }
    }

    /** The node of the type where k GPUs are free soonest (at or after notBefore) for the duration; best fit among those free then. */
    Slot earliest(String type, int k, long duration, long notBefore) {
        Capacity.Node best = null;
        long bestStart = Long.MAX_VALUE;
        int bestFree = Integer.MAX_VALUE;
        TreeSet<Entry> candidates = ordered(type, k);
        // Start from sure answers: where k GPUs are free for good soonest. Among those free then, the best fit,
        // whether that is now or later: a plan must choose the node its admission will choose when the time
        // comes, or the estimates of everyone planned after it are wrong.
        for (Entry e : open(type, k)) {
            long s = Math.max(e.openFrom[k], notBefore);
            if (s > bestStart) {
                break;
            }
            int freeThen = e.timeline.freeAt(s);
            if (s < bestStart || freeThen < bestFree) {
                best = e.node;
                bestStart = s;
                bestFree = freeThen;
            }
            if (freeThen == k) {
                break; // a perfect fit: no tie can fit better
            }
        }
        // Then gaps before those: only nodes whose earliest free moment is sooner, and whose gaps are long enough.
        for (Entry e : candidates) {
            long bound = Math.max(e.bounds[k], notBefore);
            if (bound > bestStart) {
                break; // every node from here on starts later: the orderings are by lower bound
            }
            if (e.gap[k] < duration) {
                continue; // no gap fits: its answer is its open stretch, already weighed above
            }
            long s = e.timeline.earliest(k, duration, bound, bestStart == Long.MAX_VALUE ? Long.MAX_VALUE : bestStart + 1);
            if (s == Long.MAX_VALUE) {
                continue;
            }
            int freeThen = e.timeline.freeAt(s);
            if (s < bestStart || (s == bestStart && freeThen < bestFree)) {
                best = e.node;
                bestStart = s;
                bestFree = freeThen;
                if (s == notBefore && freeThen == k) {
                    break; // a perfect fit at the earliest possible time: nothing can be better
                }
            }
        }
        return new Slot(best, bestStart);
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
