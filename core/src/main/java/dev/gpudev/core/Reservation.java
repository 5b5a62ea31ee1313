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
    public record Queue(Integer position, String pendingReason, Instant estimatedStart, List<String> plannedNodes) {
        public Queue {
            plannedNodes = plannedNodes == null ? List.of() : List.copyOf(plannedNodes);
        }

        public Queue(Integer position, String pendingReason, Instant estimatedStart) {
            this(position, pendingReason, estimatedStart, List.of());
        }
    }

    /**
     * What the sweeper keeps track of: expiry warnings already sent (minutes before the end),
     * the last sign of use, and when the current state began; whether Jupyter is wanted; and when it
     * was preempted (its end brought forward for a reservation with a better claim), if it was; how its
     * batch run ended, once it did.
     */
    public record Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                            Instant statusChangedAt, boolean jupyter, Options options, JupyterAccess jupyterAccess, Instant preemptedAt,
                            BatchRun.Outcome runOutcome) {
        public Lifecycle {
            warningsSent = warningsSent == null ? List.of() : List.copyOf(warningsSent);
            options = options == null ? Options.NONE : options;
        }

        public Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                         Instant statusChangedAt, boolean jupyter, Options options, JupyterAccess jupyterAccess, Instant preemptedAt) {
            this(warningsSent, lastActiveAt, idleWarnedAt, idleOptOut, statusChangedAt, jupyter, options, jupyterAccess, preemptedAt, null);
        }

        public Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                         Instant statusChangedAt, boolean jupyter, Options options, JupyterAccess jupyterAccess) {
            this(warningsSent, lastActiveAt, idleWarnedAt, idleOptOut, statusChangedAt, jupyter, options, jupyterAccess, null);
        }

        public Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                         Instant statusChangedAt, boolean jupyter, Options options) {
            this(warningsSent, lastActiveAt, idleWarnedAt, idleOptOut, statusChangedAt, jupyter, options, null);
        }

        public Lifecycle(List<Integer> warningsSent, Instant lastActiveAt, Instant idleWarnedAt, boolean idleOptOut,
                         Instant statusChangedAt, boolean jupyter) {
            this(warningsSent, lastActiveAt, idleWarnedAt, idleOptOut, statusChangedAt, jupyter, Options.NONE, null);
        }

        public static final Lifecycle NONE = new Lifecycle(List.of(), null, null, false, null, false, Options.NONE, null);
    }

    /** Jupyter Lab's port in the environment and its login token: chosen once, kept for the reservation's life. */
    public record JupyterAccess(int port, String token) {
        /** Jupyter Lab's port inside an environment. */
        public static final int PORT = 8888;

        public static JupyterAccess fresh() {
            return new JupyterAccess(PORT, Tokens.newSecret().substring(0, 32));
        }
    }

    /**
     * What the user asked for beyond GPUs: a named persistent disk as home (one reservation at a time;
     * its stable id once recorded, so a rename changes only its name), a scratch home deleted at the end,
     * a container image, labels the node must have, and whether it is distributed (whole nodes, with
     * the rendezvous variables even on one node).
     */
    public record Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                          boolean distributed, Long diskId, PriorityClass priority, Instant startAt, String team, EnvVars env,
                          BatchRun run) {
        public Options {
            nodeLabels = nodeLabels == null ? java.util.Map.of() : java.util.Map.copyOf(nodeLabels);
            priority = priority == null ? PriorityClass.NORMAL : priority;
            env = env == null ? EnvVars.NONE : env;
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                       boolean distributed, Long diskId, PriorityClass priority, Instant startAt, String team, EnvVars env) {
            this(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, team, env, null);
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                       boolean distributed, Long diskId, PriorityClass priority, Instant startAt, String team) {
            this(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, team, EnvVars.NONE);
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                       boolean distributed, Long diskId, PriorityClass priority, Instant startAt) {
            this(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, null);
        }

        /** These options with one more label its node must have. */
        public Options withNodeLabel(String key, String value) {
            var labels = new java.util.LinkedHashMap<>(nodeLabels);
            labels.put(key, value);
            return new Options(disk, scratch, image, labels, distributed, diskId, priority, startAt, team, env, run);
        }

        /** The node label of a Kubernetes node's availability zone (a disk's volume lives in one). */
        public static final String ZONE_LABEL = "topology.kubernetes.io/zone";

        /** A command it runs detached once made, ending it when it ends (unless kept): a batch run. */
        public Options withRun(BatchRun r) {
            return new Options(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, team, env, r);
        }

        /** Its own environment variables (in every session and process of its environments). */
        public Options withEnv(EnvVars e) {
            return new Options(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, team, e, run);
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                       boolean distributed, Long diskId, PriorityClass priority) {
            this(disk, scratch, image, nodeLabels, distributed, diskId, priority, null, null);
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels,
                       boolean distributed, Long diskId) {
            this(disk, scratch, image, nodeLabels, distributed, diskId, PriorityClass.NORMAL, null, null);
        }

        /** A booking: GPUs for a window that starts then (the planner keeps it free). */
        public Options withStartAt(Instant at) {
            return new Options(disk, scratch, image, nodeLabels, distributed, diskId, priority, at, team, env, run);
        }

        /** Charged to this team (its usage, share and guaranteed GPUs); null: to no team. */
        public Options withTeam(String t) {
            return new Options(disk, scratch, image, nodeLabels, distributed, diskId, priority, startAt, t, env, run);
        }

        public boolean booked() {
            return startAt != null;
        }

        public Options(String disk, boolean scratch, String image, java.util.Map<String, String> nodeLabels) {
            this(disk, scratch, image, nodeLabels, false, null);
        }

        public static final Options NONE = new Options(null, false, null, java.util.Map.of(), false, null);

        public Options withPriority(PriorityClass p) {
            return new Options(disk, scratch, image, nodeLabels, distributed, diskId, p, startAt, team, env, run);
        }

        private static final java.util.regex.Pattern IMAGE = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}");
        private static final java.util.regex.Pattern LABEL_KEY = java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?");
        private static final java.util.regex.Pattern LABEL_VALUE = java.util.regex.Pattern.compile("([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?");

        public Options withDiskId(Long id) {
            return new Options(disk, scratch, image, nodeLabels, distributed, id, priority, startAt, team, env, run);
        }

        public Options withDistributed(boolean d) {
            return new Options(disk, scratch, image, nodeLabels, d, diskId, priority, startAt, team, env, run);
        }

        /** Checks the options; throws {@link ValidationException} saying what to change. */
        public Options validate() {
            if (disk != null) {
                Names.check("disk_name", disk);
            }
            if (team != null) {
                Names.check("team", team);
            }
            env.validate();
            if (run != null && scratch) {
                throw new ValidationException("a batch run keeps its log and its record in its home: it cannot have a scratch home"
                        + " (drop no_persist / --no-persist)");
            }
            if (disk != null && scratch) {
                throw new ValidationException("disk_name and no_persist contradict each other: a named disk is kept, a scratch home is not");
            }
            if (image != null && !IMAGE.matcher(image).matches()) {
                throw new ValidationException("image '" + Names.shown(image) + "' is not an image reference like registry/name:tag");
            }
            if (nodeLabels.size() > 20) {
                throw new ValidationException("node_labels: at most 20 labels");
            }
            nodeLabels.forEach((k, v) -> {
                if (!LABEL_KEY.matcher(k).matches() || v == null || !LABEL_VALUE.matcher(v).matches()) {
                    throw new ValidationException("node_labels: '" + Names.shown(k) + "' = '" + Names.shown(v)
                            + "' is not a valid label (Kubernetes label syntax)");
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
     * scheduled: all at once or none). Slice 0 gets the home disk and Jupyter. The scheduler decides
     * nodes and GPU counts; which devices and which SSH endpoint are known once the backend runs it.
     */
    public record Placement(List<Slice> slices) {
        public Placement {
            slices = List.copyOf(slices);
            if (slices.isEmpty()) {
                throw new IllegalArgumentException("a placement has at least one node");
            }
        }

        /** One node, {@code gpus} GPUs on it. */
        public static Placement of(String node, int gpus) {
            return new Placement(List.of(new Slice(node, gpus, List.of(), null, null)));
        }

        public String node() {
            return slices.getFirst().node();
        }

        /** The devices of node 0, as its backend reported them (empty until then). */
        public List<Integer> gpus() {
            return slices.getFirst().devices();
        }

        public boolean multinode() {
            return slices.size() > 1;
        }

        /** The same slices with what the backend reported: devices and endpoints, node by node. */
        public Placement withRunning(List<Slice> running) {
            List<Slice> out = new java.util.ArrayList<>();
            for (int i = 0; i < slices.size(); i++) {
                Slice r = running.get(i);
                out.add(new Slice(slices.get(i).node(), slices.get(i).gpuCount(), r.devices(), r.sshHost(), r.sshPort()));
            }
            return new Placement(out);
        }

        /**
         * @param gpuCount how many GPUs of the node (the scheduler's decision)
         * @param devices  which ones, when the backend says (local: indices for CUDA_VISIBLE_DEVICES)
         */
        public record Slice(String node, int gpuCount, List<Integer> devices, String sshHost, Integer sshPort) {
            public Slice {
                devices = devices == null ? List.of() : List.copyOf(devices);
            }
        }
    }

    /** How to reach the environment's SSH endpoint (through the proxy). */
    public record Connection(String host, int port) {
    }

    /** The user of a placeholder: a node being started held until it is expected (no reservation of anyone's). */
    public static final long PLACEHOLDER_USER = 0;

    /** Whether it stands for a node being started rather than anyone's reservation (never preempted, never charged). */
    public boolean isPlaceholder() {
        return userId == PLACEHOLDER_USER;
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
        return environmentName(id, rank);
    }

    public static String environmentName(UUID id, int rank) {
        return rank == 0 ? environmentName(id) : environmentName(id) + "-n" + rank;
    }

    /** Its environments' names, node 0 first. */
    public List<String> environmentNames() {
        return java.util.stream.IntStream.range(0, nodeCount()).mapToObj(this::environmentName).toList();
    }

    public int nodeCount() {
        return placement == null ? 1 : placement.slices().size();
    }
}
