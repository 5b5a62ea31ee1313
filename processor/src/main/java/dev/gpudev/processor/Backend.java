package dev.gpudev.processor;

import dev.gpudev.core.Capacity;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Where environments run (a Kubernetes cluster, or this machine). Every method is idempotent and
 * keyed by the environment's deterministic name, so a retried command never makes a duplicate.
 */
public interface Backend extends AutoCloseable {

    /**
     * What the environment should be: its GPUs, who may log in, whether it has the home disk and
     * Jupyter (node 0 of a distributed reservation), and extra environment variables (torch.distributed).
     */
    record EnvironmentSpec(UUID reservationId, String name, String owner, List<Integer> gpus,
                           List<String> authorizedKeys, Integer preferredPort, boolean jupyter, boolean homeDisk,
                           java.util.Map<String, String> extraEnv, dev.gpudev.core.Reservation.Options options) {
        public EnvironmentSpec {
            gpus = List.copyOf(gpus);
            authorizedKeys = List.copyOf(authorizedKeys);
            extraEnv = java.util.Map.copyOf(extraEnv);
            options = options == null ? dev.gpudev.core.Reservation.Options.NONE : options;
        }

        public EnvironmentSpec(UUID reservationId, String name, String owner, List<Integer> gpus, List<String> authorizedKeys,
                               Integer preferredPort, boolean jupyter) {
            this(reservationId, name, owner, gpus, authorizedKeys, preferredPort, jupyter, true, java.util.Map.of(), null);
        }
    }

    /** A running environment and the address of its SSH endpoint. */
    record Environment(String name, String sshHost, int sshPort, String detail) {
    }

    /** The nodes and GPUs this backend offers. */
    Capacity capacity();

    /** Creates the environment if it is not there; returns it when ready. */
    Environment ensure(EnvironmentSpec spec) throws Exception;

    /** Removes the environment and everything it runs; nothing happens if it is gone already. */
    void destroy(String name) throws Exception;

    /** The names of the environments that exist now. */
    Set<String> environments();

    /** Signs of use of an environment: open SSH sessions and GPU utilization (percent; null when unknown). */
    record Activity(int openSessions, Integer gpuUtilizationPercent) {
    }

    /**
     * Tells the environment's users something: a file in its home directory (named
     * {@code fileName}) and a message on its open terminals. {@code fileName} null only clears
     * earlier notices whose names start with {@code clearPrefix}.
     */
    void notify(String name, String fileName, String message, String clearPrefix) throws Exception;

    /** Deletes a user's named disk and everything on it; nothing happens if it is gone already. */
    void deleteDisk(String owner, String disk) throws Exception;

    /**
     * Gives a user's named disk a new name, files and all; done already when only the new name is there
     * (a redelivered command), and nothing to do when the disk was never used (it has no files yet).
     */
    void renameDisk(String owner, String from, String to) throws Exception;

    /** What is on a user's named disk: at most {@code limit} entries, shallowest first. */
    DiskListing listDisk(String owner, String disk, int limit) throws Exception;

    /** One file or directory on a disk, by its path relative to the disk's root. */
    record DiskEntry(String path, long size, boolean directory, java.time.Instant modified) {
    }

    /** A disk's entries, whether there were more than listed, and the bytes of all its files. */
    record DiskListing(List<DiskEntry> entries, boolean truncated, long totalBytes) {
    }

    /** How the environment is used right now. */
    Activity activity(String name);

    /** A line for humans: which backend and sandbox this is. */
    String describe();

    @Override
    default void close() {
    }
}
