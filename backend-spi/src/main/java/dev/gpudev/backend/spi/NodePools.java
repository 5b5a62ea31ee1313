package dev.gpudev.backend.spi;

import java.util.List;

/**
 * GPU nodes that come and go with the queue: one pool per GPU type (on AWS, an EKS managed node group's Auto
 * Scaling group), sized by the processor. Every call may block (a cloud API): the processor makes them off its
 * loop, with a deadline.
 */
public interface NodePools {

    /**
     * A pool: its GPU type, GPUs per node, and the least and most nodes it may have.
     *
     * @param name where it is sized (an Auto Scaling group's name)
     */
    record Pool(String gpuType, String name, int gpusPerNode, int min, int max, java.util.Map<String, String> labels) {
        public Pool {
            if (gpusPerNode < 1 || min < 0 || max < Math.max(1, min)) {
                throw new IllegalArgumentException("pool " + gpuType + ": gpus per node at least 1, 0 <= min <= max, max at least 1");
            }
            labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
        }

        /** @param labels labels its nodes carry (its zone): what a reservation may ask of a node it starts */
        public Pool(String gpuType, String name, int gpusPerNode, int min, int max) {
            this(gpuType, name, gpusPerNode, min, max, java.util.Map.of());
        }
    }

    /** The pools, as configured (no call). */
    List<Pool> pools();

    /** How many nodes the pool is asked to have now (its desired size). */
    int desired(Pool pool) throws BackendException;

    /** Asks the pool for this many nodes (within its min and max); nodes come and go on their own time. */
    void resize(Pool pool, int desired) throws BackendException;

    /**
     * Removes this node (empty: the processor asks only for nodes nothing runs on) and lowers the pool's desired size
     * by one: that node goes, never another.
     */
    void remove(Pool pool, String node) throws BackendException;
}
