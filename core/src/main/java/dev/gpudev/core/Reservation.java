package dev.gpudev.core;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A user's request for GPUs for a while, and where it stands. The row in the database is the truth;
 * this is a snapshot of it.
 */
public record Reservation(
        UUID id,
        long userId,
        String username,
        ReservationStatus status,
        String gpuType,
        int gpuCount,
        BigDecimal durationHours,
        String name,
        Instant createdAt,
        Instant launchedAt,
        Instant expiresAt,
        Placement placement,
        Connection connection,
        String failureReason,
        String detailedStatus,
        Queue queue,
        Lifecycle lifecycle,
        List<StatusChange> history) {

    /** Where a waiting reservation stands, as the last scheduling cycle planned it. */
    public record Queue(Integer position, String pendingReason, Instant estimatedStart) {
    }

    /**
     * What the sweeper keeps track of: expiry warnings already sent (minutes before the end),
     * the last sign of use, and when the current state began; and whether Jupyter is wanted.
     */
    public record Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                            Instant statusChangedAt, boolean jupyter) {
        public Lifecycle {
            warningsSent = warningsSent == null ? List.of() : List.copyOf(warningsSent);
        }

        public static final Lifecycle NONE = new Lifecycle(List.of(), null, null, false, null, false);
    }

    /**
     * Where the scheduler put it: one slice per node (several for a distributed reservation, gang
     * scheduled: all at once or none). Slice 0 gets the home disk and Jupyter. Each slice's SSH
     * endpoint is known once its environment runs.
     */
    public record Placement(List<Slice> slices) {
        public Placement {
            slices = List.copyOf(slices);
            if (slices.isEmpty()) {
                throw new IllegalArgumentException("a placement has at least one node");
            }
        }

        public Placement(String node, List<Integer> gpus) {
            this(List.of(new Slice(node, gpus, null, null)));
        }

        public String node() {
            return slices.getFirst().node();
        }

        public List<Integer> gpus() {
            return slices.getFirst().gpus();
        }

        public boolean multinode() {
            return slices.size() > 1;
        }

        public record Slice(String node, List<Integer> gpus, String sshHost, Integer sshPort) {
            public Slice {
                gpus = List.copyOf(gpus);
            }
        }
    }

    /** How to reach the environment's SSH endpoint (through the proxy). */
    public record Connection(String host, int port) {
    }

    public Reservation {
        history = history == null ? List.of() : List.copyOf(history);
        lifecycle = lifecycle == null ? Lifecycle.NONE : lifecycle;
    }

    public Integer queuePosition() {
        return queue == null ? null : queue.position();
    }

    public String pendingReason() {
        return queue == null ? null : queue.pendingReason();
    }

    public Instant estimatedStart() {
        return queue == null ? null : queue.estimatedStart();
    }

    /** The deterministic name of its backend objects: a redelivered command never makes a second one. */
    public String environmentName() {
        return environmentName(id);
    }

    public static String environmentName(UUID id) {
        return "gpudev-" + id.toString().substring(0, 8) + id.toString().substring(24);
    }

    /** The environment of node {@code rank}: node 0 keeps the plain name (and the home disk). */
    public String environmentName(int rank) {
        return rank == 0 ? environmentName() : environmentName() + "-n" + rank;
    }

    public int nodeCount() {
        return placement == null ? 1 : placement.slices().size();
    }
}
