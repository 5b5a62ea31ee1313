package dev.gpudev.backend.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An environment's box under bubblewrap. The box is one process tree: a keeper (bwrap, with
 * {@code /bin/sleep infinity} as its command) holds the namespaces, and every session enters them with
 * nsenter as the owner's uid, with no capabilities and no new privileges. What a session leaves
 * running is reparented to the box's init, so it outlives the SSH connection; closing the box kills
 * the keeper, its init dies with it (die-with-parent), and the kernel ends every process of the PID
 * namespace. The keeper dies with the server too: nothing of an environment outlives it.
 */
final class BubblewrapBox implements Box {
    private static final Logger log = LoggerFactory.getLogger(BubblewrapBox.class);
    private static final List<String> NVIDIA_CONTROL = List.of("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
            "/dev/nvidia-modeset");

    private final Sandbox.Bubblewrap sandbox;
    private final Spec spec;
    private final Process keeper;
    private final long inside;
    private final Slirp slirp;
    private final Map<Integer, Integer> forwarded = new ConcurrentHashMap<>();

    private BubblewrapBox(Sandbox.Bubblewrap sandbox, Spec spec, Process keeper, long inside, Slirp slirp) {
        this.sandbox = sandbox;
        this.spec = spec;
        this.keeper = keeper;
        this.inside = inside;
        this.slirp = slirp;
    }

    static Box start(Sandbox.Bubblewrap sandbox, Spec spec) throws IOException {
        boolean root = sandbox.uidBase() >= 0;
        List<String> cmd = new ArrayList<>();
        String homeSource;
        if (root) {
            // The owner's uid has no way through the data dir's path (it has none), so the home is staged
            // where it can reach it: bound by root onto a fresh /run, in a mount namespace of the box's own.
            // The identity files go as file descriptors, opened here by the server.
            cmd.addAll(List.of("/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/bash", "-c",
                    "mount -t tmpfs -o mode=0755 gpudev /run && mkdir /run/gpudev-home && mount --bind \"$1\" /run/gpudev-home"
                            + " && exec 4<\"$2\" 5<\"$3\" && shift 3 && exec \"$@\"",
                    "gpudev-box", spec.home().toString(), spec.envDir().resolve("passwd").toString(), spec.envDir().resolve("group").toString(),
                    "/usr/bin/setpriv", "--reuid=" + spec.uid(), "--regid=" + spec.uid(), "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--"));
            homeSource = "/run/gpudev-home";
        } else {
            cmd.addAll(List.of("/bin/bash", "-c", "exec 4<\"$1\" 5<\"$2\" && shift 2 && exec \"$@\"", "gpudev-box",
                    spec.envDir().resolve("passwd").toString(), spec.envDir().resolve("group").toString()));
            homeSource = spec.home().toString();
        }
        boolean ownNet = sandbox.slirp4netns() != null;
        if (ownNet) {
            // The network namespace comes from unshare, not from bwrap's nested ones: slirp4netns can join it.
            cmd.addAll(List.of("/usr/bin/unshare", "--user", "--map-current-user", "--net", "--"));
        }
        cmd.addAll(List.of(sandbox.executable(), "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--share-net", "--die-with-parent",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm",
                // Other people's homes on this machine are not the box's business; its own is /home/<owner>.
                "--tmpfs", "/home", "--bind", homeSource, spec.boxHome(), "--tmpfs", "/run",
                "--ro-bind-data", "4", "/etc/passwd", "--ro-bind-data", "5", "/etc/group"));
        if (Accounts.traversable(spec.hiddenDataDir(), spec.uid())) {
            // Where the owner could find the server's data dir, it finds an empty one.
            cmd.addAll(List.of("--tmpfs", spec.hiddenDataDir().toString()));
        }
        for (int d : spec.devices()) {
            bindDevice(cmd, "/dev/nvidia" + d);
        }
        if (!spec.devices().isEmpty()) {
            NVIDIA_CONTROL.forEach(dev -> bindDevice(cmd, dev));
        }
        cmd.addAll(List.of("--chdir", spec.boxHome(), "--clearenv", "--", "/bin/sleep", "infinity"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(spec.envDir().resolve("box.log").toFile()));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process keeper = pb.start();
        long inside = awaitInside(keeper, spec);
        Slirp slirp = null;
        if (ownNet) {
            try {
                slirp = Slirp.start(sandbox.slirp4netns(), keeper.pid(), spec.envDir(), root ? -1 : spec.uid());
            } catch (IOException e) {
                keeper.destroyForcibly();
                throw e;
            }
        }
        return new BubblewrapBox(sandbox, spec, keeper, inside, slirp);
    }

    private static void bindDevice(List<String> cmd, String dev) {
        if (Files.exists(Path.of(dev))) {
            cmd.addAll(List.of("--dev-bind", dev, dev));
        }
    }

    /** The box's first process inside all its namespaces (the sleep): where sessions enter. */
    private static long awaitInside(Process keeper, Spec spec) throws IOException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Instant.now().isBefore(deadline)) {
            if (!keeper.isAlive()) {
                String why = Files.exists(spec.envDir().resolve("box.log")) ? Files.readString(spec.envDir().resolve("box.log")) : "";
                throw new IOException("the sandbox of " + spec.name() + " did not start: " + why.strip());
            }
            var sleeper = keeper.descendants().filter(h -> h.info().command().orElse("").endsWith("/sleep")).findFirst();
            if (sleeper.isPresent()) {
                return sleeper.get().pid();
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting the sandbox");
            }
        }
        keeper.destroyForcibly();
        throw new IOException("the sandbox of " + spec.name() + " did not start within 10 s");
    }

    @Override
    public List<String> command(List<String> cmd, Map<String, String> extraEnv) {
        List<String> c = new ArrayList<>(List.of("/usr/bin/nsenter", "--target", Long.toString(inside), "--user", "--pid", "--mount",
                "--ipc", "--uts", "--net", "--root", "--wd"));
        if (sandbox.uidBase() >= 0) {
            c.addAll(List.of("--setuid", Integer.toString(spec.uid()), "--setgid", Integer.toString(spec.uid())));
        } else {
            c.add("--preserve-credentials");
        }
        c.addAll(List.of("--", "/usr/bin/setpriv", "--no-new-privs", "--inh-caps=-all", "--", "/usr/bin/env", "-i"));
        Map<String, String> env = new HashMap<>(spec.env());
        env.putAll(extraEnv);
        env.forEach((k, v) -> c.add(k + "=" + v));
        c.addAll(cmd);
        return c;
    }

    @Override
    public String home() {
        return spec.boxHome();
    }

    @Override
    public int forward(int boxPort) throws IOException {
        if (slirp == null) {
            return -1;
        }
        Integer port = forwarded.get(boxPort);
        if (port == null) {
            port = slirp.forward(boxPort);
            forwarded.put(boxPort, port);
        }
        return port;
    }

    @Override
    public boolean ownNetwork() {
        return slirp != null;
    }

    @Override
    public boolean alive() {
        return keeper.isAlive();
    }

    @Override
    public void close() {
        keeper.destroy();
        try {
            if (!keeper.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                keeper.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            keeper.destroyForcibly();
        }
        if (slirp != null) {
            slirp.close();
        }
        log.debug("box of {} closed", spec.name());
    }
}
