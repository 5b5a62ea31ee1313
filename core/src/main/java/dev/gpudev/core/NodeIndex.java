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
 * cheap. Per GPU type and count k, nodes are kept ordered by the time k of their GPUs stay free for
 * good (their open stretch: a sure answer), and, per class of length (powers of two), by the start of
 * their earliest stretch of that class before it. A search for a duration takes, from each class longer
 * than it, the node whose stretch starts first (every stretch there holds it), and walks only the
 * duration's own class, where a stretch may be too short: a few nodes, not all of them, however many
 * nodes and however deep the queue.
 */
final class NodeIndex {
    /** A start on a node; the node is null when there is none. */
    record Slot(Capacity.Node node, long start) {
    }

    /** Classes of length: class c holds lengths from 2^(c-1) to 2^c - 1 milliseconds. */
    static final int CLASSES = 64;

    private final Map<String, List<Capacity.Node>> nodesByType = new HashMap<>();
    private final Map<String, Timeline> timelines = new HashMap<>();
    /** Per type and k: per class, the nodes with a stretch of that class, by its earliest start. */
    private final Map<String, Map<Integer, TreeSet<Entry>[]>> byClass = new HashMap<>();
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

    /** Powers of two: a length of class c is at least 2^(c-1) and less than 2^c milliseconds. */
    static int gapClass(long millis) {
        return 64 - Long.numberOfLeadingZeros(millis);
    }

    /** A node with its keys, for each GPU count asked for in this cycle. */
    private static final class Entry {
        final Capacity.Node node;
        final Timeline timeline;
        final int index;
        /** openFrom[k]: from then on k GPUs stay free; valid where tracked[k]. */
        final long[] openFrom;
        final boolean[] tracked;
        /** starts[k][c]: the start of the earliest stretch of k free GPUs of class c, or MAX_VALUE. */
        final long[][] starts;
        /** longest[k][c]: the longest stretch of class c; classes[k]: the classes present, a bit each. */
        final long[][] longest;
        final long[] classes;

        Entry(Capacity.Node node, Timeline timeline, int index) {
            this.node = node;
            this.timeline = timeline;
            this.index = index;
            this.openFrom = new long[node.gpus().size() + 1];
            this.tracked = new boolean[node.gpus().size() + 1];
            this.starts = new long[node.gpus().size() + 1][];
            this.longest = new long[node.gpus().size() + 1][];
            this.classes = new long[node.gpus().size() + 1];
        }

    }

    @SuppressWarnings("unchecked")
    private TreeSet<Entry>[] classes(String type, int k) {
        return byClass.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> {
            TreeSet<Entry>[] sets = new TreeSet[CLASSES];
            for (int c = 0; c < CLASSES; c++) {
                int cc = c;
                sets[c] = new TreeSet<>(Comparator.<Entry>comparingLong(x -> x.starts[kk][cc]).thenComparingInt(x -> x.index));
            }
            for (Capacity.Node node : nodes(type)) {
                if (node.gpus().size() < kk) {
                    continue;
                }
                Entry e = entry(node);
                e.tracked[kk] = true;
                e.openFrom[kk] = e.timeline.openFrom(kk);
                e.starts[kk] = new long[CLASSES];
                Arrays.fill(e.starts[kk], Long.MAX_VALUE);
                e.longest[kk] = new long[CLASSES];
                e.classes[kk] = e.timeline.stretchStarts(kk, Long.MIN_VALUE, e.starts[kk], e.longest[kk]);
                file(sets, e, kk);
                open(type, kk).add(e);
            }
            return sets;
        });
    }

    private static void file(TreeSet<Entry>[] sets, Entry e, int k) {
        for (long bits = e.classes[k]; bits != 0; bits &= bits - 1) {
            sets[Long.numberOfTrailingZeros(bits)].add(e);
        }
    }

    private static void unfile(TreeSet<Entry>[] sets, Entry e, int k) {
        for (long bits = e.classes[k]; bits != 0; bits &= bits - 1) {
            sets[Long.numberOfTrailingZeros(bits)].remove(e);
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
        Map<Integer, TreeSet<Entry>[]> sets = byClass.getOrDefault(node.gpuType(), Map.of());
        for (var set : sets.entrySet()) {
            if (e != null && e.tracked[set.getKey()]) {
                unfile(set.getValue(), e, set.getKey());
                open(node.gpuType(), set.getKey()).remove(e);
            }
        }
        timelines.get(node.name()).reserve(start, end, k);
        for (var set : sets.entrySet()) {
            int kk = set.getKey();
            if (e != null && e.tracked[kk]) {
                e.classes[kk] = e.timeline.restretch(kk, start, e.openFrom[kk], e.starts[kk], e.longest[kk], e.classes[kk]);
                e.openFrom[kk] = e.timeline.openFrom(kk);
                file(set.getValue(), e, kk);
                open(node.gpuType(), kk).add(e);
            }
        }
    }

    /** The node of the type where k GPUs are free soonest (at or after notBefore) for the duration; best fit among those free then. */
    Slot earliest(String type, int k, long duration, long notBefore) {
        Capacity.Node best = null;
        long bestStart = Long.MAX_VALUE;
        int bestFree = Integer.MAX_VALUE;
        TreeSet<Entry>[] sets = classes(type, k);
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
        // Then stretches before those: from the longest classes down to the duration's own. In a longer class
        // every stretch holds the duration, so its earliest start there is the node's answer in that class; in
        // the duration's own class a stretch may be too short, and the node's timeline says.
        if (bestStart == notBefore && bestFree == k) {
            return new Slot(best, bestStart); // a perfect fit at the earliest possible time: nothing is better
        }
        int own = gapClass(Math.max(1, duration));
        for (int c = CLASSES - 1; c >= own; c--) {
            TreeSet<Entry> set = sets[c];
            if (set.isEmpty()) {
                continue;
            }
            for (Entry e : set) {
                long key = e.starts[k][c];
                long from = Math.max(key, notBefore);
                if (from > bestStart) {
                    break; // every node from here on in this class starts later: ordered by start
                }
                if (c == own && e.longest[k][c] < duration) {
                    continue; // none of its stretches of this class holds the duration
                }
                long s;
                if (c > own && key >= notBefore) {
                    s = key; // the whole stretch holds the duration
                } else {
                    s = e.timeline.earliest(k, duration, from, bestStart == Long.MAX_VALUE ? Long.MAX_VALUE : bestStart + 1);
                    if (s == Long.MAX_VALUE) {
                        continue;
                    }
                }
                int freeThen = e.timeline.freeAt(s);
                if (s < bestStart || (s == bestStart && freeThen < bestFree)) {
                    best = e.node;
                    bestStart = s;
                    bestFree = freeThen;
                    if (s == notBefore && freeThen == k) {
                        return new Slot(best, bestStart); // a perfect fit at the earliest possible time: nothing is better
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
