package dev.gpudev.core;

import java.util.List;

/** What the backend has: its nodes, each with a GPU type and the indices of its GPUs. */
public record Capacity(List<Node> nodes) {
    public Capacity {
        nodes = List.copyOf(nodes);
    }

    /**
     * The label of a node that does not exist but an elastic pool may start (published for the API's checks of
     * what may be asked; never planned on, never counted as free).
     */
    public static final String POTENTIAL = "gpudev.dev/potential";

    /** These nodes without the potential ones: what exists. */
    public Capacity existing() {
        return nodes.stream().anyMatch(n -> n.labels().containsKey(POTENTIAL))
                ? new Capacity(nodes.stream().filter(n -> !n.labels().containsKey(POTENTIAL)).toList()) : this;
    }

    public record Node(String name, String gpuType, List<Integer> gpus, boolean simulated, java.util.Map<String, String> labels) {
        public Node {
            gpus = List.copyOf(gpus);
            labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
        }

        public Node(String name, String gpuType, List<Integer> gpus, boolean simulated) {
            this(name, gpuType, gpus, simulated, java.util.Map.of());
        }

        /** Whether the node has every one of these labels with that value. */
        public boolean hasLabels(java.util.Map<String, String> wanted) {
            return labels.entrySet().containsAll(wanted.entrySet());
        }
    }

    public int totalGpus(String gpuType) {
        return nodes.stream().filter(n -> n.gpuType().equals(gpuType)).mapToInt(n -> n.gpus().size()).sum();
    }

    public int maxPerNode(String gpuType) {
        return nodes.stream().filter(n -> n.gpuType().equals(gpuType)).mapToInt(n -> n.gpus().size()).max().orElse(0);
    }
}
