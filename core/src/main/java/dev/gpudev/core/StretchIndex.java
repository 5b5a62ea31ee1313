package dev.gpudev.core;

import java.util.Arrays;

/**
 * Every stretch of free GPUs of one type and count across a cycle's nodes, in one ordered tree: a
 * stretch is a maximal span in which a node has at least k GPUs free, {@code [start, end)} with
 * {@code end = Long.MAX_VALUE} for the one that lasts for ever. The tree is ordered by start (then node)
 * and each subtree knows the latest end and the longest length below it, so both questions a
 * search asks are a walk down the tree rather than a scan of the nodes: "which stretches hold
 * {@code [t, t + d)}" and "which stretch of at least {@code d} starts first after {@code t}".
 *
 * <p>A treap on primitive arrays (random priorities from a fixed seed, so a cycle is repeatable).
 */
final class StretchIndex {
    /** Visits a stretch's node; returns true to stop. */
    interface Visitor {
        boolean visit(int node, long start);
    }

    private long[] start = new long[16];
    private long[] end = new long[16];
    private long[] maxEnd = new long[16];
    private long[] maxLength = new long[16];
    private int[] node = new int[16];
    private int[] left = new int[16];
    private int[] right = new int[16];
    private int[] priority = new int[16];
    /** Slot 0 is the empty tree; freed slots are chained through {@code left}. */
    private int used = 1;
    private int freeList;
    private int root;
    private int seed = 0x9E3779B9;
    private int size;

    int size() {
        return size;
    }

    void add(int n, long from, long until) {
        root = insert(root, allocate(n, from, until));
        size++;
    }

    private int insert(int t, int x) {
        if (t == 0) {
            return x;
        }
        if (compare(start[x], node[x], t) < 0) {
            left[t] = insert(left[t], x);
            if (priority[left[t]] > priority[t]) {
                t = rotateRight(t);
            }
        } else {
            right[t] = insert(right[t], x);
            if (priority[right[t]] > priority[t]) {
                t = rotateLeft(t);
            }
        }
        update(t);
        return t;
    }

    private int rotateRight(int t) {
        int l = left[t];
        left[t] = right[l];
        update(t);
        right[l] = t;
        return l;
    }

    private int rotateLeft(int t) {
        int r = right[t];
        right[t] = left[r];
        update(t);
        left[r] = t;
        return r;
    }

    /** Gives the stretch of node n starting at from a new end; there must be one. */
    void setEnd(int n, long from, long until) {
        setEnd(root, n, from, until);
    }

    private void setEnd(int t, int n, long from, long until) {
        if (t == 0) {
            throw new IllegalStateException("no stretch of node " + n + " at " + from);
        }
        int c = compare(from, n, t);
        if (c == 0) {
            end[t] = until;
        } else if (c < 0) {
            setEnd(left[t], n, from, until);
        } else {
            setEnd(right[t], n, from, until);
        }
        update(t);
    }

    /** Removes the stretch of node n starting at from; there must be one. */
    void remove(int n, long from) {
        root = remove(root, from, n);
    }

    private int remove(int t, long from, int n) {
        if (t == 0) {
            throw new IllegalStateException("no stretch of node " + n + " at " + from);
        }
        int c = compare(from, n, t);
        if (c == 0) {
            int rest = merge(left[t], right[t]);
            left[t] = freeList;
            freeList = t;
            size--;
            return rest;
        }
        if (c < 0) {
            left[t] = remove(left[t], from, n);
        } else {
            right[t] = remove(right[t], from, n);
        }
        update(t);
        return t;
    }

    /**
     * Visits the stretches that start at or before {@code at} and last until {@code until} or later (so
     * hold {@code [at, until)}), latest start first, until the visitor stops.
     */
    void holding(long at, long until, Visitor visitor) {
        holding(root, at, until, visitor);
    }

    private boolean holding(int t, long at, long until, Visitor visitor) {
        if (t == 0 || maxEnd[t] < until) {
            return false;
        }
        if (start[t] > at) {
            return holding(left[t], at, until, visitor);
        }
        if (holding(right[t], at, until, visitor)) {
            return true;
        }
        if (end[t] >= until && visitor.visit(node[t], start[t])) {
            return true;
        }
        return holding(left[t], at, until, visitor);
    }

    /** The earliest start after {@code after} of a stretch at least {@code length} long; MAX_VALUE if none. */
    long firstAfter(long after, long length) {
        int t = firstAfter(root, after, length);
        return t == 0 ? Long.MAX_VALUE : start[t];
    }

    private int firstAfter(int t, long after, long length) {
        if (t == 0 || maxLength[t] < length) {
            return 0;
        }
        if (start[t] <= after) {
            return firstAfter(right[t], after, length);
        }
        int found = firstAfter(left[t], after, length);
        if (found != 0) {
            return found;
        }
        if (end[t] - start[t] >= length) {
            return t;
        }
        return firstAfter(right[t], after, length);
    }

    /** Visits, in node order, the stretches that start exactly at {@code at} and are at least {@code length} long. */
    void startingAt(long at, long length, Visitor visitor) {
        startingAt(root, at, length, visitor);
    }

    private boolean startingAt(int t, long at, long length, Visitor visitor) {
        if (t == 0 || maxLength[t] < length) {
            return false;
        }
        if (start[t] < at) {
            return startingAt(right[t], at, length, visitor);
        }
        if (start[t] > at) {
            return startingAt(left[t], at, length, visitor);
        }
        if (startingAt(left[t], at, length, visitor)) {
            return true;
        }
        if (end[t] - start[t] >= length && visitor.visit(node[t], start[t])) {
            return true;
        }
        return startingAt(right[t], at, length, visitor);
    }

    private int compare(long from, int n, int t) {
        int c = Long.compare(from, start[t]);
        return c != 0 ? c : Integer.compare(n, node[t]);
    }

    private int merge(int a, int b) {
        if (a == 0) {
            return b;
        }
        if (b == 0) {
            return a;
        }
        if (priority[a] > priority[b]) {
            right[a] = merge(right[a], b);
            update(a);
            return a;
        }
        left[b] = merge(a, left[b]);
        update(b);
        return b;
    }

    private void update(int t) {
        long e = end[t];
        long l = end[t] - start[t];
        int a = left[t];
        int b = right[t];
        if (a != 0) {
            e = Math.max(e, maxEnd[a]);
            l = Math.max(l, maxLength[a]);
        }
        if (b != 0) {
            e = Math.max(e, maxEnd[b]);
            l = Math.max(l, maxLength[b]);
        }
        maxEnd[t] = e;
        maxLength[t] = l;
    }

    private int allocate(int n, long from, long until) {
        int x;
        if (freeList != 0) {
            x = freeList;
            freeList = left[x];
        } else {
            if (used == start.length) {
                int capacity = used * 2;
                start = Arrays.copyOf(start, capacity);
                end = Arrays.copyOf(end, capacity);
                maxEnd = Arrays.copyOf(maxEnd, capacity);
                maxLength = Arrays.copyOf(maxLength, capacity);
                node = Arrays.copyOf(node, capacity);
                left = Arrays.copyOf(left, capacity);
                right = Arrays.copyOf(right, capacity);
                priority = Arrays.copyOf(priority, capacity);
            }
            x = used++;
        }
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        start[x] = from;
        end[x] = until;
        node[x] = n;
        left[x] = 0;
        right[x] = 0;
        priority[x] = seed;
        update(x);
        return x;
    }
}
