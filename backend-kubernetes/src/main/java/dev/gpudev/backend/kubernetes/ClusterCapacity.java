package dev.gpudev.backend.kubernetes;

import dev.gpudev.core.Capacity;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The GPUs the platform may use, from the cluster as it is: nodes labelled with a GPU type that are
 * Ready, not cordoned and not tainted against scheduling (the GPU taint aside), each offering its
 * allocatable {@code nvidia.com/gpu} minus what pods that are not the platform's have asked for. The
 * platform's own pods are not subtracted: the scheduler counts their reservations itself.
 */
public final class ClusterCapacity {
    public static final String GPU = "nvidia.com/gpu";

    private ClusterCapacity() {
    }

    public static Capacity of(Collection<Node> nodes, Collection<Pod> pods, String gpuTypeLabel) {
        Map<String, Integer> foreign = new HashMap<>();
        for (Pod p : pods) {
            if (p.getSpec() == null || p.getSpec().getNodeName() == null || ours(p) || finished(p)) {
                continue;
            }
            foreign.merge(p.getSpec().getNodeName(), gpusAsked(p), Integer::sum);
        }
        List<Capacity.Node> out = new ArrayList<>();
        for (Node n : nodes) {
            String type = n.getMetadata().getLabels() == null ? null : n.getMetadata().getLabels().get(gpuTypeLabel);
            if (type == null || type.isBlank() || !usable(n)) {
                continue;
            }
            int gpus = allocatableGpus(n) - foreign.getOrDefault(n.getMetadata().getName(), 0);
            if (gpus <= 0) {
                continue;
            }
            out.add(new Capacity.Node(n.getMetadata().getName(), type.toLowerCase(java.util.Locale.ROOT),
                    IntStream.range(0, gpus).boxed().toList(), false, n.getMetadata().getLabels()));
        }
        out.sort(java.util.Comparator.comparing(Capacity.Node::name));
        return new Capacity(out);
    }

    /** Ready, schedulable, and no taint that keeps pods off it but the GPU one (which our pods tolerate). */
    static boolean usable(Node n) {
        if (n.getSpec() != null && Boolean.TRUE.equals(n.getSpec().getUnschedulable())) {
            return false;
        }
        if (n.getSpec() != null && n.getSpec().getTaints() != null) {
            for (Taint t : n.getSpec().getTaints()) {
                boolean blocks = "NoSchedule".equals(t.getEffect()) || "NoExecute".equals(t.getEffect());
                if (blocks && !GPU.equals(t.getKey())) {
                    return false;
                }
            }
        }
        if (n.getStatus() == null || n.getStatus().getConditions() == null) {
            return false;
        }
        for (NodeCondition c : n.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return "True".equals(c.getStatus());
            }
        }
        return false;
    }

    static int allocatableGpus(Node n) {
        if (n.getStatus() == null || n.getStatus().getAllocatable() == null) {
            return 0;
        }
        Quantity q = n.getStatus().getAllocatable().get(GPU);
        return q == null ? 0 : Quantity.getAmountInBytes(q).intValue();
    }

    static boolean ours(Pod p) {
        var labels = p.getMetadata().getLabels();
        return labels != null && EnvironmentObjects.OURS.equals(labels.get(EnvironmentObjects.MANAGED_BY));
    }

    static boolean finished(Pod p) {
        String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    /** GPUs a pod holds: its containers' (requests, else limits) added up, or its largest init container's if more. */
    static int gpusAsked(Pod p) {
        int sum = 0;
        for (Container c : p.getSpec().getContainers()) {
            sum += gpus(c);
        }
        int init = 0;
        if (p.getSpec().getInitContainers() != null) {
            for (Container c : p.getSpec().getInitContainers()) {
                init = Math.max(init, gpus(c));
            }
        }
        return Math.max(sum, init);
    }

    private static int gpus(Container c) {
        if (c.getResources() == null) {
            return 0;
        }
        Quantity q = c.getResources().getRequests() != null ? c.getResources().getRequests().get(GPU) : null;
        if (q == null && c.getResources().getLimits() != null) {
            q = c.getResources().getLimits().get(GPU);
        }
        return q == null ? 0 : Quantity.getAmountInBytes(q).intValue();
    }
}
