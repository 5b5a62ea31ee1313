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
     */
    record Spec(String name, Path home, Path envDir, Path hiddenDataDir, int uid, String username, List<Integer> devices,
                Map<String, String> env) {
        public Spec {
            devices = List.copyOf(devices);
            env = Map.copyOf(env);
        }

        /** Where the home is seen inside a box with its own mounts. */
        public String boxHome() {
            return "/home/" + username;
        }
    }

    /** The home as the box's processes see it. */
    String home();

    /** The command line that runs cmd inside the box, as its owner, with exactly its environment (plus extra). */
    List<String> command(List<String> cmd, Map<String, String> extraEnv);

    /**
     * The host port that reaches this port of the box's own network, or -1 when the box has none
     * (it shares the host's network: its ports cannot be told from the host's).
     */
    int forward(int boxPort) throws IOException;

    /** Whether the box has its own network: 127.0.0.1 in it is its own, and the host's services are out of reach. */
    boolean ownNetwork();

    /** Whether the box is still there. */
    boolean alive();

    /** Ends the box and every process in it. */
    @Override
    void close();
}
