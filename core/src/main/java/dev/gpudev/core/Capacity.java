package dev.gpudev.core;

import java.util.List;

/** What the backend has: its nodes, each with a GPU type and the indices of its GPUs. */
public record Capacity(List<Node> nodes) {
    public Capacity {
        nodes = List.copyOf(nodes);
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
