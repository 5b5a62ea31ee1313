package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.EnvironmentSpec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Jupyter Lab of an environment, with the token the reservation keeps for its life. Environments here
 * share the machine's network, so Lab listens on a port of the host chosen once per environment (kept
 * in its directory); the URL stays the same while the reservation lives. When Jupyter is not
 * installed, the status says so instead of offering a dead URL.
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
    static JupyterProcess reconcile(JupyterProcess current, EnvironmentSpec spec, Path home, Path dir, Path hiddenDataDir,
                                    Sandbox sandbox, Map<String, String> env) throws IOException {
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
        int port = hostPort(dir.resolve("jupyter_port"));
        Process p = new ProcessBuilder(sandbox.wrap(List.of(exe, "lab", "--no-browser", "--ip=127.0.0.1", "--port=" + port,
                "--IdentityProvider.token=" + spec.jupyter().token(), "--ServerApp.root_dir=" + home), home, hiddenDataDir, env))
                .redirectErrorStream(true).redirectOutput(dir.resolve("jupyter.log").toFile()).start();
        return new JupyterProcess(p, port, spec.jupyter().token(), null);
    }

    /** The port this environment's Lab always gets: chosen free once, then kept. */
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

    String describe() {
        if (problem != null) {
            return problem;
        }
        if (!process.isAlive()) {
            return "jupyter: not running (it exited; see jupyter.log in the environment's directory)";
        }
        return "jupyter: http://127.0.0.1:" + port + "/lab?token=" + token + " (after: gpu-dev connect NAME --forward " + port + ")";
    }

    void stop() {
        if (process != null) {
            process.destroy();
        }
    }
}
