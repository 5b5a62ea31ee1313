package dev.gpudev.processor;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;

import java.time.Duration;

/**
 * A backend call the loop wants made by {@link BackendCalls}' workers: what it is about (its lane), how
 * long it may take, and how to make it. Equal calls are the same call (it is never asked twice while it
 * waits or runs).
 */
sealed interface BackendCall {
    /** Calls of one lane run one after the other. */
    String lane();

    /** How long it may take. */
    Duration deadline(ProcessorSettings.Workers d);

    /** Words for logs and status lines: "making environment x". */
    String describe();

    Object run(Backend backend) throws Exception;

    record Ensure(EnvironmentSpec spec) implements BackendCall {
        public String lane() {
            return "env:" + spec.name();
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.ensure();
        }

        public String describe() {
            return "making environment " + spec.name();
        }

        public Object run(Backend b) throws Exception {
            b.ensure(spec);
            return null;
        }
    }

    record Destroy(String name) implements BackendCall {
        public String lane() {
            return "env:" + name;
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.destroy();
        }

        public String describe() {
            return "removing environment " + name;
        }

        public Object run(Backend b) throws Exception {
            b.destroy(name);
            return null;
        }
    }

    /**
     * A Dockerfile build of a reservation ({@code image: build:sha256:HEX}): its context read from the database and
     * the build made by the backend, both on the worker; how it ended written back (the image, or the failing step),
     * so every replica and every later reservation of the same hash sees it.
     */
    record Build(String hash, long userId, String username, dev.gpudev.store.Database db, dev.gpudev.store.ImageBuilds builds,
                 java.time.Clock clock) implements BackendCall {
        public String lane() {
            return "build:" + hash;
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return BUILD_DEADLINE;
        }

        public String describe() {
            return "building image " + hash + " from its Dockerfile";
        }

        public Object run(Backend b) throws Exception {
            byte[] context = db.query(c -> builds.context(c, hash)).orElseThrow(() -> new dev.gpudev.backend.spi.BackendException(
                    "the build's context " + hash + " is not stored", false));
            try {
                var built = b.build(new dev.gpudev.backend.spi.ImageBuild(hash, context, userId, username));
                String log = built.log() == null ? "" : dev.gpudev.core.TerminalText.lines(built.log());
                db.query(c -> {
                    builds.built(c, hash, built.image(), log, clock.instant());
                    return null;
                });
                return built;
            } catch (dev.gpudev.backend.spi.ImageBuild.Failed f) {
                // the build's words are the tenant's (its RUN's output): no control characters reach a terminal or a page
                String why = dev.gpudev.core.TerminalText.line(f.getMessage());
                String log = f.log() == null ? "" : dev.gpudev.core.TerminalText.lines(f.log());
                db.query(c -> {
                    builds.failed(c, hash, why, log);
                    return null;
                });
                throw new dev.gpudev.backend.spi.ImageBuild.Failed(why, log);
            } catch (dev.gpudev.backend.spi.BackendException e) {
                if (!e.isTransient()) {
                    db.query(c -> {
                        builds.failed(c, hash, e.getMessage(), "");
                        return null;
                    });
                }
                throw e;
            }
        }
    }

    /** A build's deadline on the workers (the backend's own, 30 minutes by default, comes first). */
    Duration BUILD_DEADLINE = Duration.ofMinutes(35);

    record Notify(String name, String fileName, String message) implements BackendCall {
        public String lane() {
            return "notice:" + name;
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.notice();
        }

        public String describe() {
            return "telling the users of " + name + " (" + fileName + ")";
        }

        public Object run(Backend b) throws Exception {
            b.notify(name, fileName, message);
            return null;
        }
    }

    record ClearNotices(String name, String prefix) implements BackendCall {
        public String lane() {
            return "notice:" + name;
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.notice();
        }

        public String describe() {
            return "clearing notices " + prefix + "* of " + name;
        }

        public Object run(Backend b) throws Exception {
            b.clearNotices(name, prefix);
            return null;
        }
    }

    /** A listing for a disk operation (its id): the result is a {@link DiskListing}. */
    record ListDisk(long operationId, DiskRef disk, int limit) implements BackendCall {
        public String lane() {
            return "disk:" + disk.id();
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.disk();
        }

        public String describe() {
            return "listing disk " + disk.name() + " of " + disk.owner();
        }

        public Object run(Backend b) throws Exception {
            return b.listDisk(disk, limit);
        }
    }

    /** A disk's files removed; the command that asked for it ({@code messageId}) is acknowledged when it is done. */
    record DeleteDisk(long messageId, DiskRef disk) implements BackendCall {
        public String lane() {
            return "disk:" + disk.id();
        }

        public Duration deadline(ProcessorSettings.Workers d) {
            return d.disk();
        }

        public String describe() {
            return "deleting the files of disk " + disk.id();
        }

        public Object run(Backend b) throws Exception {
            b.deleteDisk(disk);
            return null;
        }
    }

    /** A call about an elastic pool: one lane per pool (its calls in order), a cloud API's deadline. */
    sealed interface PoolCall extends BackendCall {
        dev.gpudev.backend.spi.NodePools.Pool pool();

        default String lane() {
            return "pool:" + pool().gpuType();
        }

        default Duration deadline(ProcessorSettings.Workers d) {
            return d.notice().multipliedBy(2);
        }
    }

    /** A pool's desired size as the cloud has it (the result: an Integer). */
    record ReadPool(dev.gpudev.backend.spi.NodePools.Pool pool) implements PoolCall {
        public String describe() {
            return "reading the size of pool " + pool.gpuType();
        }

        public Object run(Backend b) throws Exception {
            return b.nodePools().orElseThrow().desired(pool);
        }
    }

    /** A pool asked for this many nodes. */
    record Resize(dev.gpudev.backend.spi.NodePools.Pool pool, int desired) implements PoolCall {
        public String describe() {
            return "asking pool " + pool.gpuType() + " for " + desired + " node(s)";
        }

        public Object run(Backend b) throws Exception {
            b.nodePools().orElseThrow().resize(pool, desired);
            return null;
        }
    }

    /** An empty node of a pool removed, and the pool one node smaller. */
    record RemoveNode(dev.gpudev.backend.spi.NodePools.Pool pool, String node) implements PoolCall {
        public String describe() {
            return "removing empty node " + node + " of pool " + pool.gpuType();
        }

        public Object run(Backend b) throws Exception {
            b.nodePools().orElseThrow().remove(pool, node);
            return null;
        }
    }
}
