package dev.gpudev.core;

import java.util.List;
import java.util.Map;

/**
 * Whether a request can ever be placed on the nodes there are, and how: one decision, used by the
 * API (a request that can never start is refused at submit, with the reason) and by the scheduler
 * (which then plans it in that shape). Messages use the real node sizes, not the catalog's.
 */
public final class Feasibility {
    private Feasibility() {
    }

    /** The answer: it fits in a shape, or it never will, and why. */
    public sealed interface Verdict {
        /** {@code nodes} nodes with {@code perNode} GPUs each; whole nodes (gang scheduled) when distributed. */
        record Fits(int nodes, int perNode, boolean wholeNodes) implements Verdict {
        }

        record Never(Reason reason, String message) implements Verdict {
        }
    }

    public enum Reason { NO_CAPACITY_OF_TYPE, USER_GPU_LIMIT }

    public static Verdict of(String type, int count, boolean distributed, Map<String, String> labels, Capacity capacity,
                             Scheduler.Limits given) {
        Scheduler.Limits limits = given.resolvedFor(capacity);
        List<Capacity.Node> ofType = capacity.nodes().stream().filter(n -> n.gpuType().equals(type)).toList();
        if (ofType.isEmpty()) {
            return new Verdict.Never(Reason.NO_CAPACITY_OF_TYPE, "there are no " + type + " GPUs on this platform:"
                    + " see `gpu-dev avail` for the types it has");
        }
        List<Capacity.Node> nodes = labels.isEmpty() ? ofType : ofType.stream().filter(n -> n.hasLabels(labels)).toList();
        String where = labels.isEmpty() ? type + " node" : type + " node with labels " + labels;
        if (nodes.isEmpty()) {
            return new Verdict.Never(Reason.NO_CAPACITY_OF_TYPE, "no " + where + " exists (" + ofType.size() + " " + type
                    + " node(s) without those labels)");
        }
        if (limits.maxGpusPerUser() > 0 && count > limits.maxGpusPerUser()) {
            return new Verdict.Never(Reason.USER_GPU_LIMIT, "you may hold at most " + limits.maxGpusPerUser()
                    + " GPUs at once: ask for fewer");
        }
        Integer perType = limits.maxGpusPerUserPerType().get(type);
        if (perType != null && perType > 0 && count > perType) {
            return new Verdict.Never(Reason.USER_GPU_LIMIT, "you may hold at most " + perType + " " + type
                    + " GPUs at once: ask for fewer");
        }
        int largest = nodes.stream().mapToInt(n -> n.gpus().size()).max().orElse(0);
        if (!distributed) {
            if (count > largest) {
                return new Verdict.Never(Reason.NO_CAPACITY_OF_TYPE, "no " + where + " has " + count + " GPUs (the largest has "
                        + largest + "): ask for at most " + largest + ", or for whole nodes with --distributed");
            }
            return new Verdict.Fits(1, count, false);
        }
        long whole = nodes.stream().filter(n -> n.gpus().size() == largest).count();
        if (largest == 0 || count % largest != 0 || count / largest > whole) {
            return new Verdict.Never(Reason.NO_CAPACITY_OF_TYPE, "a distributed " + type + " reservation takes whole nodes of "
                    + largest + " GPUs, and there " + (whole == 1 ? "is 1" : "are " + whole) + (labels.isEmpty() ? "" : " with those labels")
                    + ": ask for a multiple of " + largest + " up to " + whole * largest);
        }
        return new Verdict.Fits(count / largest, largest, true);
    }
}
