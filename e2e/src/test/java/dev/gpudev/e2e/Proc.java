package dev.gpudev.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion and keeps what it printed. */
record Proc(int exit, String out) {

    static Proc run(Map<String, String> env, List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true);
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // Output to a file, not a pipe: a command that hangs, or leaves a child holding the pipe, times out
        // instead of blocking the suite.
        Path log = Files.createTempFile("gpudev-proc", ".out");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException("timed out after 120 s: " + cmd + "\n" + Files.readString(log));
            }
            return new Proc(p.exitValue(), Files.readString(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /**
     * Stops a server (TERM, then KILL), and ends the environments it leaves running: local environments
     * outlive their server on purpose, a test's must not outlive the test.
     */
    static void stopServer(Process server, Path dataDir) throws InterruptedException {
        if (server != null && server.isAlive()) {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly().waitFor();
            }
        }
        if (dataDir != null) {
            dev.gpudev.backend.local.LocalBackend.stopEnvironments(dataDir);
        }
    }

    /** Processes on this machine whose command line names this data dir and ends with this program (left behind?). */
    static long processesOf(Path dataDir, String program) {
        return ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("").contains(dataDir.toString())
                && h.info().command().orElse("").endsWith("/" + program)).count();
    }

    static boolean listening(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A jar the build made (the suite runs after it). */
    static String jar(String module, String name) {
        Path p = Path.of("..", module, "target", name).toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw new AssertionError(p + " is missing: run the build (mvn verify) from the repository root");
        }
        return p.toString();
    }

    /** Waits until a server just started says it is running (two minutes at most); else fails with its log. */
    static void awaitRunning(Process server, Path log, String what) throws IOException, InterruptedException {
        java.time.Instant deadline = java.time.Instant.now().plusSeconds(120);
        while (!Files.readString(log).contains("gpudev is running")) {
            if (!server.isAlive() || java.time.Instant.now().isAfter(deadline)) {
                throw new AssertionError(what + " did not start:\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** A user's own home: an ed25519 key pair, and nothing else. */
    static Path newHome(Path parent, String name) throws IOException, InterruptedException {
        Path home = Files.createDirectories(parent.resolve(name));
        Files.createDirectories(home.resolve(".ssh"));
        Proc k = run(Map.of(), List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                "-f", home.resolve(".ssh/id_ed25519").toString()));
        if (k.exit() != 0) {
            throw new IllegalStateException("ssh-keygen failed: " + k.out());
        }
        return home;
    }
}
