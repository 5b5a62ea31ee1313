package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** One environment's running sandbox: sessions and services run in it, and end with it. */
interface Box extends AutoCloseable {

    /**
     * What to start a box from.
     *
     * @param envDir        the environment's own directory (host keys, logs): the server's, not the user's
     * @param hiddenDataDir the server's data dir, which the box must not see
     * @param uid           the owner's uid in this sandbox (files of the home are theirs)
     * @param devices       GPU indices: their device nodes are visible, no others
     * @param env           the environment every process starts with
     * @param limits        its memory, processes and temporary space
     * @param network       whose network it joins (a gang's node 0), or null for one of its own
     * @param image         the container image whose root file system it runs on, or null for the host's system
     */
    record Spec(String name, Path home, Path envDir, Path hiddenDataDir, int uid, String username, List<Integer> devices,
                Map<String, String> env, Limits limits, Box network, Images.Image image) {
        public Spec {
            devices = List.copyOf(devices);
            env = Map.copyOf(env);
        }

        Spec(String name, Path home, Path envDir, Path hiddenDataDir, int uid, String username, List<Integer> devices,
             Map<String, String> env, Limits limits, Box network) {
            this(name, home, envDir, hiddenDataDir, uid, username, devices, env, limits, network, null);
        }

        /** The login shell: the image's bash, else its sh; the host's bash without an image. */
        public String shell() {
            return image == null ? "/bin/bash" : image.shell();
        }

        Spec(String name, Path home, Path envDir, Path hiddenDataDir, int uid, String username, List<Integer> devices,
             Map<String, String> env) {
            this(name, home, envDir, hiddenDataDir, uid, username, devices, env, Limits.NONE, null);
        }

        /** Where the home is seen inside a box with its own mounts. */
        public String boxHome() {
            return "/home/" + username;
        }
    }

    /**
     * What an environment may use of the machine: memory (its /tmp and /dev/shm count in it), processes,
     * and the size of each of /tmp and /dev/shm. Zero: no limit.
     */
    record Limits(long memoryBytes, int processes, long tmpBytes) {
        static final Limits NONE = new Limits(0, 0, 0);

        boolean any() {
            return memoryBytes > 0 || processes > 0;
        }

        /** "16 GiB memory, 2048 processes, /tmp and /dev/shm 8 GiB each". */
        String describe() {
            if (!any()) {
                return "no memory or process limit (control groups are not available here)";
            }
            return gib(memoryBytes) + " memory, " + processes + " processes, /tmp and /dev/shm " + gib(tmpBytes) + " each";
        }

        static String gib(long bytes) {
            double g = bytes / (1024.0 * 1024 * 1024);
            if (g < 1) {
                return (bytes >> 20) + " MiB";
            }
            return g >= 10 ? Math.round(g) + " GiB" : String.format(java.util.Locale.ROOT, "%.1f GiB", g);
        }
    }

    /** How an environment's own network is reached from outside it, for a gang's other nodes to join it (null: none). */
    default Long networkHolder() {
        return null;
    }

    /**
     * Stops (or lets again) every file of the box growing: its processes, and every session that starts, get
     * a file-size limit of zero; deleting and truncating still work. Only where the box has control groups
     * (its processes are known); elsewhere nothing happens.
     */
    default void limitGrowth(boolean limited) {
    }

    /** What it may use of the machine. */
    default Limits limits() {
        return Limits.NONE;
    }

    /** The home as the box's processes see it. */
    String home();

    /** The command line that runs cmd inside the box, as its owner, with exactly its environment (plus extra). */
    List<String> command(List<String> cmd, Map<String, String> extraEnv);

    /** The image it runs on, or null (the host's system). */
    default Images.Image image() {
        return null;
    }

    /** The login shell in the box. */
    default String shell() {
        return "/bin/bash";
    }

    /**
     * How a program of the host's system (script, setpriv) is started inside the box: as it is, or, on an
     * image's root file system, from the host's /usr bound read-only under /.gpudev/host, by its loader.
     */
    default List<String> hostTool(String program) {
        return List.of(program);
    }

    /**
     * The host port that reaches this port of the box's own network, or -1 when the box has none
     * (it shares the host's network: its ports cannot be told from the host's).
     */
    int forward(int boxPort) throws IOException;

    /** A tunnel to this port ended: when it was the last, the port is no longer forwarded. */
    default void unforward(int boxPort) {
    }

    /** Whether a tunnel uses this port of the box now. */
    default boolean forwarding(int boxPort) {
        return false;
    }

    /** Whether the box has its own network: 127.0.0.1 in it is its own, and the host's services are out of reach. */
    boolean ownNetwork();

    /** Whether nothing of it runs any more (after {@link #close}: every process ended). */
    default boolean ended() {
        return !alive();
    }

    /** Whether the box is still there. */
    boolean alive();

    /** Ends the box and every process in it. */
    @Override
    void close();
}
