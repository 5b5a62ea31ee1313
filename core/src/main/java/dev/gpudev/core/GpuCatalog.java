package dev.gpudev.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The GPU types the platform knows, by name. */
public final class GpuCatalog {
    private final Map<String, GpuType> types = new LinkedHashMap<>();

    public GpuCatalog(List<GpuType> types) {
        types.forEach(t -> this.types.put(t.name(), t));
    }

    /** The types of the original platform: GPUs per node as on the AWS instance types it used. */
    public static GpuCatalog standard() {
        return new GpuCatalog(List.of(
                new GpuType("b200", 8), new GpuType("h200", 8), new GpuType("h100", 8),
                new GpuType("a100", 8), new GpuType("a10g", 4), new GpuType("l4", 4),
                new GpuType("t4", 4), new GpuType("t4-small", 1),
                new GpuType("cpu-arm", 0), new GpuType("cpu-x86", 0)));
    }

    /**
     * This catalog and every type the cluster has that it does not know (a node group of a new type,
     * labelled with its name), with the GPUs of its largest node: adding a GPU type is adding nodes.
     */
    public GpuCatalog including(Capacity capacity) {
        List<GpuType> all = new java.util.ArrayList<>(types.values());
        for (Capacity.Node n : capacity.nodes()) {
            if (!types.containsKey(n.gpuType()) && all.stream().noneMatch(t -> t.name().equals(n.gpuType()))) {
                all.add(new GpuType(n.gpuType(), capacity.maxPerNode(n.gpuType())));
            }
        }
        return all.size() == types.size() ? this : new GpuCatalog(all);
    }

    /** The type of this name, whatever its case. */
    public Optional<GpuType> find(String name) {
        if (name == null) {
            return Optional.empty();
        }
        GpuType exact = types.get(name);
        return exact != null ? Optional.of(exact) : types.values().stream().filter(t -> t.name().equalsIgnoreCase(name)).findFirst();
    }

    public List<GpuType> all() {
        return List.copyOf(types.values());
    }
}
