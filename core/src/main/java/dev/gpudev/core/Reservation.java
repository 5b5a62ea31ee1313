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
                            Instant statusChangedAt, boolean jupyter, Options options) {
        public Lifecycle {
            warningsSent = warningsSent == null ? List.of() : List.copyOf(warningsSent);
            options = options == null ? Options.NONE : options;
        }

        public Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                         Instant statusChangedAt, boolean jupyter) {
            this(warningsSent, lastActiveAt, idleWarnedAt, idleOptOut, statusChangedAt, jupyter, Options.NONE);
        }

        public static final Lifecycle NONE = new Lifecycle(List.of(), null, null, false, null, false, Options.NONE);
    }

    /**
     * What the user asked for beyond GPUs: a named persistent disk as home (one reservation at a time),
     * a scratch home deleted at the end, a container image, and labels the node must have.
     */
    public record Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels) {
        public Options {
            nodeLabels = nodeLabels == null ? java.util.Map.of() : java.util.Map.copyOf(nodeLabels);
        }

        public static final Options NONE = new Options(null, false, null, java.util.Map.of());

        private static final java.util.regex.Pattern DNS_LABEL = java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
        private static final java.util.regex.Pattern IMAGE = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}");
        private static final java.util.regex.Pattern LABEL_KEY = java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?");
        private static final java.util.regex.Pattern LABEL_VALUE = java.util.regex.Pattern.compile("([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?");

        /** Checks the options; throws {@link ValidationException} saying what to change. */
        public Options validate() {
            if (disk != null && !DNS_LABEL.matcher(disk).matches()) {
                throw new ValidationException("disk_name '" + disk + "' is not valid: use 1-63 lowercase letters, digits and '-'");
            }
            if (disk != null && scratch) {
                throw new ValidationException("disk_name and no_persist contradict each other: a named disk is kept, a scratch home is not");
            }
            if (image != null && !IMAGE.matcher(image).matches()) {
                throw new ValidationException("image '" + image + "' is not an image reference like registry/name:tag");
            }
            if (nodeLabels.size() > 20) {
                throw new ValidationException("node_labels: at most 20 labels");
            }
            nodeLabels.forEach((k, v) -> {
                if (!LABEL_KEY.matcher(k).matches() || v == null || !LABEL_VALUE.matcher(v).matches()) {
                    throw new ValidationException("node_labels: '" + k + "' = '" + v + "' is not a valid label (Kubernetes label syntax)");
                }
            });
            return this;
        }
    }

    public Options options() {
        return lifecycle.options();
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
