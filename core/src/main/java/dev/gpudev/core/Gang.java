package dev.gpudev.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Gang placement of a distributed reservation: n whole nodes, all free at the same time for the whole
 * duration, planned at the earliest such time after everything older.
 */
final class Gang {
    private final NodeIndex nodes;
    private final UserQuota quota;

    Gang(NodeIndex nodes, UserQuota quota) {
        this.nodes = nodes;
        this.quota = quota;
    }

    /** The earliest time at or after notBefore when n of these nodes and the owner's allowance are free together; MAX if never. */
    long earliest(Reservation r, List<Capacity.Node> wholeNodes, int n, int size, long hold, long notBefore) {
        long t = quota.earliest(r, r.gpuCount(), hold, notBefore);
        while (t != Long.MAX_VALUE) {
            int free = 0;
            long next = Long.MAX_VALUE;
            for (Capacity.Node node : wholeNodes) {
                long s = nodes.timeline(node.name()).earliest(size, hold, t, Long.MAX_VALUE);
                if (s == t) {
                    free++;
                } else {
                    next = Math.min(next, s);
                }
            }
            if (free >= n) {
                long userOk = quota.earliest(r, r.gpuCount(), hold, t);
                if (userOk == t) {
                    return t;
                }
                next = userOk;
            }
            t = next;
        }
        return Long.MAX_VALUE;
    }

    /**
     * Takes n of these nodes free at t (as {@link #earliest} found them), those the last plan chose first
     * (see Cycle: a replan keeps what it can); returns the slices.
     */
    List<Reservation.Placement.Slice> take(List<Capacity.Node> wholeNodes, int n, int size, long t, long hold, List<String> before) {
        List<Capacity.Node> order = new ArrayList<>(wholeNodes.size());
        for (Capacity.Node node : wholeNodes) {
            if (before.contains(node.name())) {
                order.add(node);
            }
        }
        for (Capacity.Node node : wholeNodes) {
            if (!before.contains(node.name())) {
                order.add(node);
            }
        }
        List<Reservation.Placement.Slice> slices = new ArrayList<>();
        for (Capacity.Node node : order) {
            if (slices.size() == n) {
                break;
            }
            if (nodes.timeline(node.name()).earliest(size, hold, t, Long.MAX_VALUE) == t) {
                nodes.reserve(node, t, t + hold, size);
                slices.add(new Reservation.Placement.Slice(node.name(), size, List.of(), null, null));
            }
        }
        return slices;
    }
}
