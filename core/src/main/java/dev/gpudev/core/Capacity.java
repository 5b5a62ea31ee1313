package dev.gpudev.core;

import java.util.List;

/** What the backend has: its nodes, each with a GPU type and the indices of its GPUs. */
public record Capacity(List<Node> nodes) {
    public Capacity {
        nodes = List.copyOf(nodes);
    }

    public record Node(String name, String gpuType, List<Integer> gpus, boolean simulated) {
        public Node {
            gpus = List.copyOf(gpus);
        }
    }

    public int totalGpus(String gpuType) {
        return nodes.stream().filter(n -> n.gpuType().equals(gpuType)).mapToInt(n -> n.gpus().size()).sum();
    }

    public int maxPerNode(String gpuType) {
        return nodes.stream().filter(n -> n.gpuType().equals(gpuType)).mapToInt(n -> n.gpus().size()).max().orElse(0);
    }
}
