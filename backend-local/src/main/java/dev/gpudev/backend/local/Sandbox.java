package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How environments are isolated on this machine. With bubblewrap: every environment is one long-lived
 * box (its own user, PID, IPC, UTS and mount namespaces, and its own network where slirp4netns is
 * installed), run as a uid of its owner's own with no capabilities and no new privileges, seeing a
 * read-only system, its home, a private /tmp, its GPUs' device nodes, and nothing of the server's data.
 * SSH sessions enter the box; what they leave running lives as long as the box, and ends with it.
 * Without bubblewrap: plain processes of the server's user, which is no isolation at all (the server
 * then lets only the admin reserve, unless told otherwise).
 */
public sealed interface Sandbox {

    /** A line for humans: which isolation environments get. */
    String describe();

    /** Whether environments are isolated from each other and from the server. */
    boolean isolates();

    /** Starts an environment's box, in its control groups where there are some. */
    Box start(Box.Spec spec, java.util.Optional<Cgroups> cgroups) throws IOException;

    /** Starts an environment's box without control groups (it dies with the server). */
    default Box start(Box.Spec spec) throws IOException {
        return start(spec, java.util.Optional.empty());
    }

    /** The box a server before this one left running for this environment, taken over; empty when there is none. */
    default java.util.Optional<Box> adopt(Box.Spec spec, java.util.Optional<Cgroups> cgroups) {
        return java.util.Optional.empty();
    }

    /** The best isolation this machine offers. */
    static Sandbox detect() {
        String bwrap = which("bwrap");
        if (bwrap == null) {
            return new Plain();
        }
        String slirp = which("slirp4netns");
        boolean root = Accounts.serverIsRoot();
        // Without root, slirp4netns opens /dev/net/tun itself: only where that is open to users.
        Path tun = Path.of("/dev/net/tun");
        boolean network = slirp != null && Files.exists(tun) && (root || Files.isWritable(tun));
        return new Bubblewrap(bwrap, network ? slirp : null, root ? Accounts.DEFAULT_UID_BASE : -1);
    }

    /** The path of an executable on PATH (or the usual system directories), or null. */
    static String which(String name) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path exe = Path.of(dir, name);
            if (Files.isExecutable(exe)) {
                return exe.toString();
            }
        }
        return null;
    }

    /**
     * @param slirp4netns where slirp4netns is (own network per environment), or null (the host's network)
     * @param uidBase     environments of user N run as uid {@code uidBase + N}; -1 when the server is not
     *                    root (then they run as the server's uid, separated by namespaces alone)
     */
    record Bubblewrap(String executable, String slirp4netns, int uidBase) implements Sandbox {
        @Override
        public String describe() {
            return "bubblewrap, " + (uidBase >= 0 ? "a uid per user" : "the server's uid in a user namespace")
                    + ", " + (slirp4netns != null ? "own network (slirp4netns)" : "the host's network (install slirp4netns for an own one)");
        }

        @Override
        public boolean isolates() {
            return true;
        }

        @Override
        public Box start(Box.Spec spec, java.util.Optional<Cgroups> cgroups) throws IOException {
            return BubblewrapBox.start(this, spec, cgroups);
        }

        @Override
        public java.util.Optional<Box> adopt(Box.Spec spec, java.util.Optional<Cgroups> cgroups) {
            return BubblewrapBox.adopt(this, spec, cgroups);
        }
    }

    record Plain() implements Sandbox {
        @Override
        public String describe() {
            return "plain processes of the server's user: NOT isolated (install bubblewrap)";
        }

        @Override
        public boolean isolates() {
            return false;
        }

        @Override
        public Box start(Box.Spec spec, java.util.Optional<Cgroups> cgroups) {
            return new PlainBox(spec);
        }
    }

    /** The command that runs cmd with exactly env, in home (used by a box without namespaces). */
    static List<String> plainCommand(List<String> cmd, Path home, Map<String, String> env) {
        List<String> c = new java.util.ArrayList<>(List.of("/usr/bin/env", "-i", "-C", home.toString()));
        env.forEach((k, v) -> c.add(k + "=" + v));
        c.addAll(cmd);
        return c;
    }
}
