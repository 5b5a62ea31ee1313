package dev.gpudev.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The nodes of a cycle, each with its timeline of free GPUs, and the orderings that make a search
 * cheap. Per GPU type and count k, nodes are kept ordered by the first time k of their GPUs are free
 * (a lower bound of any start there) and by the time k stay free for good (an upper bound): a search
 * visits nodes in that order and stops as soon as the bound passes the best start found, usually
 * after a handful of nodes, not all of them. Nodes with gaps before their open stretch are kept apart
 * by the length of their longest gap (powers of two), so a search for a duration looks only at nodes
 * whose gaps could hold it: on a busy cluster nearly every node has a gap, most of them too short.
 */
final class NodeIndex {
    /** A start on a node; the node is null when there is none. */
    record Slot(Capacity.Node node, long start) {
    }

    private final Map<String, List<Capacity.Node>> nodesByType = new HashMap<>();
    private final Map<String, Timeline> timelines = new HashMap<>();
    /** Per type and k: per class of longest gap ({@link #gapClass}), the nodes by their lower bound. */
    private final Map<String, Map<Integer, TreeMap<Integer, TreeSet<Entry>>>> byBound = new HashMap<>();
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
        /** The class of gap[k] it is filed under (valid while gap[k] > 0). */
        final int[] filed;

        Entry(Capacity.Node node, Timeline timeline, int index) {
            this.node = node;
            this.timeline = timeline;
            this.index = index;
            this.bounds = new long[node.gpus().size() + 1];
            this.openFrom = new long[node.gpus().size() + 1];
            this.gap = new long[node.gpus().size() + 1];
            this.filed = new int[node.gpus().size() + 1];
            Arrays.fill(bounds, -1);
        }
    }

    /** Powers of two: a gap of class c is at least 2^(c-1) and less than 2^c milliseconds long. */
    static int gapClass(long millis) {
        return 64 - Long.numberOfLeadingZeros(millis);
    }

    private TreeMap<Integer, TreeSet<Entry>> ordered(String type, int k) {
        return byBound.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> {
            TreeMap<Integer, TreeSet<Entry>> classes = new TreeMap<>();
            for (Capacity.Node node : nodes(type)) {
                if (node.gpus().size() < kk) {
                    continue;
                }
                Entry e = entry(node);
                e.bounds[kk] = e.timeline.firstAtLeast(kk);
                e.openFrom[kk] = e.timeline.openFrom(kk);
                e.gap[kk] = e.timeline.longestGap(kk);
                if (e.gap[kk] > 0) {
                    file(classes, e, kk); // without a gap, a node's first free moment is its open stretch: byOpen has it
                }
                open(type, kk).add(e);
            }
            return classes;
        });
    }

    private static void file(TreeMap<Integer, TreeSet<Entry>> classes, Entry e, int k) {
        e.filed[k] = gapClass(e.gap[k]);
        classes.computeIfAbsent(e.filed[k], c -> new TreeSet<>(Comparator.<Entry>comparingLong(x -> x.bounds[k]).thenComparingInt(x -> x.index)))
                .add(e);
    }

    private static void unfile(TreeMap<Integer, TreeSet<Entry>> classes, Entry e, int k) {
        TreeSet<Entry> set = classes.get(e.filed[k]);
        if (set != null) {
            set.remove(e);
        }
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
        Map<Integer, TreeMap<Integer, TreeSet<Entry>>> sets = byBound.getOrDefault(node.gpuType(), Map.of());
        for (var set : sets.entrySet()) {
            if (e != null && e.bounds[set.getKey()] >= 0) {
                if (e.gap[set.getKey()] > 0) {
                    unfile(set.getValue(), e, set.getKey());
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
                    file(set.getValue(), e, kk);
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
        TreeMap<Integer, TreeSet<Entry>> classes = ordered(type, k);
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
        // Then gaps before those: only nodes whose gaps could hold the duration (classes from its own up), and of
        // those only the ones whose earliest free moment is sooner.
        search:
        for (TreeSet<Entry> candidates : classes.tailMap(gapClass(Math.max(1, duration)), true).values()) {
            for (Entry e : candidates) {
                long bound = Math.max(e.bounds[k], notBefore);
                if (bound > bestStart) {
                    break; // every node from here on in this class starts later: each class is ordered by lower bound
                }
                if (e.gap[k] < duration) {
                    continue; // no gap fits (only in the duration's own class): its answer is its open stretch
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
                        break search; // a perfect fit at the earliest possible time: nothing can be better
                    }
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
