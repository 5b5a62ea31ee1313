package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.EnvironmentSpec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Jupyter Lab of an environment, in its box, with the port and token the reservation keeps for its
 * life. In a box with its own network it listens on the reservation's port (8888) there, reached by
 * `gpu-dev connect NAME --forward 8888`; in a box on the host's network it takes a port of the host,
 * chosen once per environment. When Jupyter is not installed, the status says so instead of offering
 * a dead URL.
 */
final class JupyterProcess {
    private final Process process;
    private final int port;
    private final String token;
    private final String problem;

    private JupyterProcess(Process process, int port, String token, String problem) {
        this.process = process;
        this.port = port;
        this.token = token;
        this.problem = problem;
    }

    /** What the spec asks for, from what runs now: started, kept, or stopped (null). */
    static JupyterProcess reconcile(JupyterProcess current, EnvironmentSpec spec, Box box, Path dir,
                                    EnvironmentSshServer ssh) throws IOException {
        if (spec.jupyter() == null) {
            if (current != null) {
                current.stop();
            }
            return null;
        }
        if (current != null && (current.problem != null || current.process.isAlive()) && spec.jupyter().token().equals(current.token)) {
            return current;
        }
        if (current != null) {
            current.stop();
        }
        String exe = Sandbox.which("jupyter");
        if (exe == null) {
            return new JupyterProcess(null, 0, spec.jupyter().token(), "jupyter: not started: Jupyter is not installed on this machine"
                    + " (pip install jupyterlab), so there is no URL");
        }
        int port = box.ownNetwork() ? spec.jupyter().port() : hostPort(dir.resolve("jupyter_port"));
        String ip = box.ownNetwork() ? "0.0.0.0" : "127.0.0.1";
        Path log = dir.resolve("jupyter.log");
        Process p = new ProcessBuilder(box.command(List.of(exe, "lab", "--no-browser", "--ip=" + ip, "--port=" + port,
                "--IdentityProvider.token=" + spec.jupyter().token(), "--ServerApp.root_dir=" + box.home()), java.util.Map.of()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Files.setPosixFilePermissions(log, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Files.writeString(dir.resolve(PID_FILE), p.pid() + " " + p.toHandle().info().startInstant().map(Object::toString).orElse(""));
        if (!box.ownNetwork()) {
            ssh.allow(port);
        }
        return new JupyterProcess(p, port, spec.jupyter().token(), null);
    }

    /** The port this environment's Lab always gets on the host's network: chosen free once, then kept. */
    private static int hostPort(Path file) throws IOException {
        if (Files.exists(file)) {
            try {
                return Integer.parseInt(Files.readString(file).trim());
            } catch (NumberFormatException e) {
                // chosen again below
            }
        }
        int port;
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        Files.writeString(file, Integer.toString(port));
        return port;
    }

    static final String PID_FILE = "jupyter.pid";

    /**
     * A Lab a server before this one started (in a box now taken over) is ended: the new server starts its
     * own when the reservation still wants one (it holds the port).
     */
    static void endLeftover(Path dir) {
        Path file = dir.resolve(PID_FILE);
        try {
            if (!Files.exists(file)) {
                return;
            }
            String[] f = Files.readString(file).trim().split(" ");
            long pid = Long.parseLong(f[0]);
            ProcessHandle.of(pid).filter(h -> f.length < 2 || h.info().startInstant().map(i -> i.toString().equals(f[1])).orElse(false))
                    .ifPresent(h -> {
                        h.descendants().forEach(ProcessHandle::destroyForcibly);
                        h.destroyForcibly();
                    });
            Files.deleteIfExists(file);
        } catch (IOException | RuntimeException e) {
            // nothing to end
        }
    }

    boolean alive() {
        return problem != null || process.isAlive();
    }

    String describe() {
        if (problem != null) {
            return problem;
        }
        if (!process.isAlive()) {
            return "jupyter: not running (it exited; it is started again)";
        }
        return "jupyter: http://127.0.0.1:" + port + "/lab?token=" + token + " (open it after: gpu-dev connect NAME --forward " + port + ")";
    }

    void stop() {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
    }
}
