package dev.gpudev.backend.spi;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.Capacity;

import java.util.Map;

/**
 * Where environments run: a Kubernetes cluster, or this machine. Level-triggered, as Kubernetes
 * controllers are: the processor says what should exist ({@link #ensure}), looks at what does
 * ({@link #observe}), and converges. Every method is idempotent and keyed by the environment's
 * deterministic name, so a retried command never makes a duplicate. Nothing here waits for an
 * environment to become ready: readiness is a phase that {@link #observe} reports.
 *
 * <p>Every backend passes {@code BackendContract} (this module's test-jar).
 */
public interface Backend extends AutoCloseable {

    /**
     * The names the platform's notices start with: {@link #destroy} removes them from the home (a kept disk
     * never greets the next reservation with an old warning).
     */
    java.util.List<String> NOTICE_PREFIXES = java.util.List.of("WARN_EXPIRES_IN_", "IDLE_WARNING");

    /** The nodes and GPUs this backend offers now; the processor publishes them for the API. */
    Capacity capacity();

    /**
     * Makes the environment what the spec says: created if missing, its authorized keys and Jupyter
     * brought in line if it exists. Returns without waiting for it to be ready.
     *
     * @throws BackendException with {@link BackendException#isTransient()} false when the spec can
     *                          never work (the reservation then fails with the message)
     */
    void ensure(EnvironmentSpec spec) throws BackendException;

    /** Every environment this backend has, by name, each with its phase: one call for all of them. */
    Map<String, Observed> observe();

    /**
     * Removes the environment and everything it runs, and the platform's notices from its home (the home
     * itself stays); nothing happens if it is gone already.
     */
    void destroy(String name) throws BackendException;

    /** Signs of use of every environment it has (for idle detection), in one call. */
    Map<String, Activity> activity();

    /**
     * Tells the environment's users something: a file in its home directory and a message on its open
     * terminals. A file of the same name replaces the earlier one. Written as the environment's user, never
     * with the platform's privileges: a link, a FIFO or a directory the user put at that name is left alone,
     * and a terminal that does not take the message at once does not get it.
     */
    void notify(String name, String fileName, String message) throws BackendException;

    /** Removes earlier notices whose file names start with the prefix (a reservation extended, or ending). */
    void clearNotices(String name, String prefix) throws BackendException;

    /** Deletes a disk and everything on it; nothing happens if it is gone already. */
    void deleteDisk(DiskRef disk) throws BackendException;

    /** What is on a disk: at most {@code limit} entries, shallowest first; empty when it was never used. */
    DiskListing listDisk(DiskRef disk, int limit) throws BackendException;

    /**
     * The lease processors must hold to drive this backend, when only one may per database (its
     * environments live where that processor runs: this machine's sandboxes); null when every replica
     * may drive it at once (a cluster they all share).
     */
    /**
     * Builds an image from a Dockerfile, or finds the one an earlier build of the same hash made, and pushes it
     * where {@link #ensure} pulls from; never as root, with a deadline of its own. Throws {@link ImageBuild.Failed}
     * with the failing step when the build fails.
     */
    default ImageBuild.Built build(ImageBuild build) throws BackendException {
        throw new BackendException("this backend does not build images from a Dockerfile: name a ready image with --image", false);
    }

    default String exclusiveLease() {
        return null;
    }

    /** GPU node pools the processor sizes from the queue; empty when the backend's nodes are fixed. */
    default java.util.Optional<NodePools> nodePools() {
        return java.util.Optional.empty();
    }

    /** What it is (published by the processor beside the capacity, for the API). */
    BackendTraits traits();

    /** A line for humans: which backend and which isolation. */
    String describe();

    @Override
    default void close() {
    }
}
