package dev.gpudev.backend.kubernetes;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The development image's own scripts (deploy/images/dev), run here with bash against directories that
 * stand for its mounts: the entrypoint's sshd settings, and the agent that turns the platform's notices
 * into files and starts or stops Jupyter.
 */
class DevImageScriptsTest {
    static final Path IMAGE = Path.of("..", "deploy", "images", "dev").toAbsolutePath().normalize();

    @TempDir
    Path dir;
    Path config;
    Path keys;
    Path run;
    Path home;
    Path bin;

    @BeforeEach
    void mounts() throws Exception {
        config = Files.createDirectories(dir.resolve("config"));
        keys = Files.createDirectories(dir.resolve("keys"));
        run = dir.resolve("run");
        home = Files.createDirectories(dir.resolve("home"));
        bin = Files.createDirectories(dir.resolve("bin"));
        // A stand-in for Jupyter: it says how it was started and waits to be stopped.
        script("jupyter", "echo \"$* token=$JUPYTER_TOKEN\" >> \"" + dir.resolve("jupyter.calls") + "\"\nexec sleep 60");
    }

    /** An executable stand-in in bin/: a shell script with this body. */
    Path script(String name, String body) throws Exception {
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        p.toFile().setExecutable(true);
        return p;
    }

    String run(String script, Map<String, String> extra) throws Exception {
        // the entrypoint ends with a failure when its sshd ends (the container is then made again)
        return run(script, extra, script.equals("gpudev-entrypoint") ? 1 : 0);
    }

    String run(String script, Map<String, String> extra, int exit) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", IMAGE.resolve(script).toString());
        pb.environment().putAll(Map.of("GPUDEV_CONFIG", config.toString(), "GPUDEV_KEYS", keys.toString(), "GPUDEV_RUN_DIR", run.toString(),
                "HOME", home.toString(), "GPUDEV_AGENT_ONCE", "1", "PATH", bin + ":" + System.getenv("PATH")));
        pb.environment().putAll(extra);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(exit, p.exitValue(), out);
        return out;
    }

    @Test
    void noticesBecomeFilesInTheHomeAndGoWhenThePlatformTakesThemBack() throws Exception {
        Files.writeString(config.resolve("notice.WARN_EXPIRES_IN_5MIN.txt"), "gpudev: this environment expires in 5 minutes");
        Files.writeString(home.resolve("train.py"), "print('mine')");
        run("gpudev-agent", Map.of());
        assertEquals("gpudev: this environment expires in 5 minutes", Files.readString(home.resolve("WARN_EXPIRES_IN_5MIN.txt")));
        Files.delete(config.resolve("notice.WARN_EXPIRES_IN_5MIN.txt")); // extended: the warning is taken back
        run("gpudev-agent", Map.of());
        assertFalse(Files.exists(home.resolve("WARN_EXPIRES_IN_5MIN.txt")));
        assertTrue(Files.exists(home.resolve("train.py")), "the user's own files are theirs");
    }

    @Test
    void jupyterRunsWhileTheSecretHoldsATokenOnThePortTheRootSays() throws Exception {
        Files.writeString(keys.resolve("jupyter-token"), "tok123");
        Files.writeString(config.resolve("jupyter-port"), "8890");
        run("gpudev-agent", Map.of());
        run("gpudev-agent", Map.of()); // already running: not started twice
        Path calls = dir.resolve("jupyter.calls");
        for (int i = 0; i < 100 && !Files.exists(calls); i++) {
            Thread.sleep(50);
        }
        List<String> started = Files.readAllLines(calls);
        assertEquals(1, started.size(), started.toString());
        assertTrue(started.getFirst().contains("lab --no-browser --ip=0.0.0.0 --port=8890") && started.getFirst().endsWith("token=tok123"),
                started.getFirst());
        long pid = Long.parseLong(Files.readString(run.resolve("jupyter.pid")).trim());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        Files.delete(keys.resolve("jupyter-token")); // switched off
        run("gpudev-agent", Map.of());
        for (int i = 0; i < 100 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); i++) {
            Thread.sleep(50);
        }
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "stopped");
    }

    @Test
    void theEntrypointRunsSshdAsItsUserWithTheReservationsKeysAndVariables() throws Exception {
        Path sshd = script("fake-sshd", "echo \"sshd $*\"\ncat \"$4\"");
        Path agent = script("fake-agent", "exit 0");
        Map<String, String> env = Map.of("GPUDEV_SSHD", sshd.toString(), "GPUDEV_AGENT", agent.toString(), "MASTER_ADDR",
                "gpudev-x.gpudev-x-peers.gpu-dev.svc.cluster.local", "NODE_RANK", "1", "GPUDEV_ENVIRONMENT", "gpudev-x-n1");
        String out = run("gpudev-entrypoint", env);
        assertTrue(out.contains("sshd -D -e -f " + run.resolve("sshd_config")), out);
        assertTrue(out.contains("Port 2222") && out.contains("AuthorizedKeysFile " + keys + "/authorized_keys"), out);
        assertTrue(out.contains("PasswordAuthentication no") && out.contains("AllowUsers " + System.getProperty("user.name")), out);
        assertTrue(out.contains("SetEnv GPUDEV_ENVIRONMENT=\"gpudev-x-n1\" MASTER_ADDR=\"gpudev-x.gpudev-x-peers.gpu-dev.svc.cluster.local\"")
                && out.contains(" NODE_RANK=\"1\""), "one SetEnv line (sshd keeps only the first): " + out);
        assertEquals(1, out.lines().filter(l -> l.startsWith("SetEnv")).count(), out);
        assertTrue(out.contains("AllowTcpForwarding local") && out.contains("GatewayPorts no") && out.contains("PermitTunnel no"), out);
        Path hostKey = home.resolve(".gpudev/ssh_host_ed25519_key");
        String key = Files.readString(hostKey);
        run("gpudev-entrypoint", env);
        assertEquals(key, Files.readString(hostKey), "a pod made again keeps its host key (it lives in the home)");
    }

    @Test
    void theEntrypointStartsABatchRunOnceWhoseStatusContainerReportsItsCodeAndOutput() throws Exception {
        Path sshd = script("fake-sshd", "exit 0");
        Path agent = script("fake-agent", "exit 0");
        Files.createDirectories(home.resolve("proj"));
        // the words as the platform quotes them (BatchRun.shellLine): one with a space and a quote stays one word
        Map<String, String> env = Map.of("GPUDEV_SSHD", sshd.toString(), "GPUDEV_AGENT", agent.toString(),
                "GPUDEV_RUN", IMAGE.resolve("gpudev-run").toString(), "GPUDEV_RUN_NAME", "gpudev-x",
                "GPUDEV_RUN_COMMAND", dev.gpudev.core.BatchRun.quote("sh") + " -c " + dev.gpudev.core.BatchRun.quote("echo \"[$1]\" in $(basename $PWD); exit 4")
                        + " x " + dev.gpudev.core.BatchRun.quote("it's two words"),
                "GPUDEV_RUN_WORKDIR", "proj", "GPUDEV_RUN_UPLOAD_WAIT", "20");
        run("gpudev-entrypoint", env);
        Path runs = home.resolve(".gpudev/runs");
        Files.createDirectories(runs);
        Files.writeString(runs.resolve("gpudev-x.go"), ""); // what the CLI writes (mkdir -p first) when the folder is copied
        Path code = runs.resolve("gpudev-x.exit");
        for (int i = 0; i < 200 && !Files.exists(code); i++) {
            Thread.sleep(50);
        }
        assertEquals("4", Files.readString(code).strip());
        assertEquals("[it's two words] in proj\n", Files.readString(runs.resolve("gpudev-x.log")));
        // a pod made again never runs the command twice
        run("gpudev-entrypoint", env);
        Thread.sleep(300);
        assertEquals("[it's two words] in proj\n", Files.readString(runs.resolve("gpudev-x.log")));
        // the status container: the code, then the end of the log, as its termination message
        Path message = dir.resolve("termination-log");
        ProcessBuilder pb = new ProcessBuilder("bash", IMAGE.resolve("gpudev-run").toString(), "--report");
        pb.environment().putAll(Map.of("HOME", home.toString(), "GPUDEV_RUN_NAME", "gpudev-x", "GPUDEV_TERMINATION_LOG", message.toString()));
        Process p = pb.start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertEquals("4\n[it's two words] in proj\n", Files.readString(message));
    }
    @Test
    void aRealSshLoginSeesEveryVariableOfTheReservation() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/sshd")), "OpenSSH's sshd is needed (run-tests installs it)");
        Path agent = script("fake-agent", "exit 0");
        // root may log in here only because the test runs as root (the image runs sshd as "dev"); never beyond 127.0.0.1
        Path sshd = script("sshd-for-test", "mkdir -p /run/sshd 2>/dev/null\nexec /usr/sbin/sshd -o PermitRootLogin=yes \"$@\"");
        Path key = dir.resolve("id_ed25519");
        assertEquals(0, new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()).start().waitFor());
        Files.copy(dir.resolve("id_ed25519.pub"), keys.resolve("authorized_keys"));
        int port;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Map<String, String> env = new java.util.HashMap<>(Map.of("GPUDEV_SSHD", sshd.toString(), "GPUDEV_AGENT", agent.toString(),
                "GPUDEV_SSHD_PORT", Integer.toString(port), "GPUDEV_SSHD_LISTEN", "127.0.0.1",
                "MASTER_ADDR", "gpudev-x.gpudev-x-peers.gpu-dev.svc.cluster.local", "MASTER_PORT", "29500", "WORLD_SIZE", "2",
                "NODE_RANK", "1", "PATH", "/opt/venv/bin:" + System.getenv("PATH")));
        env.putAll(Map.of("GPUDEV_ENV_NAMES", "WANDB_MODE GREETING", "WANDB_MODE", "offline", "GREETING", "say \"hi\" \\ there"));
        ProcessBuilder pb = new ProcessBuilder("bash", IMAGE.resolve("gpudev-entrypoint").toString());
        pb.environment().putAll(Map.of("GPUDEV_CONFIG", config.toString(), "GPUDEV_KEYS", keys.toString(), "GPUDEV_RUN_DIR", run.toString(),
                "HOME", home.toString()));
        pb.environment().putAll(env);
        Process server = pb.redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
        try {
            String out = "";
            for (int i = 0; i < 100; i++) {
                Process ssh = new ProcessBuilder("ssh", "-i", key.toString(), "-p", Integer.toString(port), "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                        System.getProperty("user.name") + "@127.0.0.1", "env").redirectErrorStream(true).start();
                out = new String(ssh.getInputStream().readAllBytes());
                if (ssh.waitFor() == 0) {
                    break;
                }
                Thread.sleep(100);
            }
            for (String expected : List.of("MASTER_ADDR=gpudev-x.gpudev-x-peers.gpu-dev.svc.cluster.local", "MASTER_PORT=29500", "WORLD_SIZE=2",
                    "NODE_RANK=1", "/opt/venv/bin:", "WANDB_MODE=offline", "GREETING=say \"hi\" \\ there")) {
                assertTrue(out.contains(expected), expected + " in a real session: " + out + "\n" + Files.readString(dir.resolve("sshd.log"))
                        + Files.readString(run.resolve("sshd_config")));
            }
        } finally {
            server.descendants().forEach(ProcessHandle::destroy);
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Runs gpudev-run as the dev container does (in the background), with a status directory as on Kubernetes. */
    Process wrapper(Path status, String... command) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", IMAGE.resolve("gpudev-run").toString()));
        cmd.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(Map.of("HOME", home.toString(), "GPUDEV_RUN_NAME", "gpudev-w", "GPUDEV_RUN_STATUS_DIR", status.toString()));
        return pb.redirectErrorStream(true).start();
    }

    String report(Path status, String stale) throws Exception {
        Path message = dir.resolve("termination-log");
        ProcessBuilder pb = new ProcessBuilder("bash", IMAGE.resolve("gpudev-run").toString(), "--report");
        pb.environment().putAll(Map.of("HOME", home.toString(), "GPUDEV_RUN_NAME", "gpudev-w", "GPUDEV_RUN_STATUS_DIR", status.toString(),
                "GPUDEV_TERMINATION_LOG", message.toString(), "GPUDEV_RUN_STALE", stale, "GPUDEV_RUN_POLL", "0.2"));
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the status container ended");
        return Files.readString(message);
    }

    @Test
    void aCommandThatKillsItsGroupOrFillsTheHomeStillHasItsEndRecorded() throws Exception {
        Path status = Files.createDirectories(dir.resolve("status"));
        // `trap 'kill 0' EXIT` ends the command's whole process group, itself too (143): not the wrapper, which records it
        Process w = wrapper(status, "bash", "-c", "trap 'kill 0' EXIT; echo working; exit 6");
        assertTrue(w.waitFor(20, TimeUnit.SECONDS));
        assertEquals(143, w.exitValue());
        assertEquals("143", Files.readString(status.resolve("gpudev-w.exit")).strip(), "also where a full home cannot lose it");
        assertEquals("143", Files.readString(home.resolve(".gpudev/runs/gpudev-w.exit")).strip());
        assertTrue(report(status, "60").startsWith("143\nworking\n"));
        // a home that cannot take the code: the status directory has it
        Files.delete(home.resolve(".gpudev/runs/gpudev-w.exit"));
        Files.delete(status.resolve("gpudev-w.exit"));
        Files.delete(home.resolve(".gpudev/runs/gpudev-w.started"));
        Files.createDirectories(home.resolve(".gpudev/runs/gpudev-w.exit.new")); // the write fails as in a full home
        Process full = wrapper(status, "sh", "-c", "exit 4");
        assertTrue(full.waitFor(20, TimeUnit.SECONDS));
        assertEquals("4", Files.readString(status.resolve("gpudev-w.exit")).strip());
        assertTrue(report(status, "60").startsWith("4\n"));
    }

    @Test
    void aWrapperKilledOutrightIsReportedOnceItStopsBeating() throws Exception {
        Path status = Files.createDirectories(dir.resolve("status"));
        Process w = wrapper(status, "sleep", "300");
        Path alive = status.resolve("gpudev-w.alive");
        for (int i = 0; i < 100 && !Files.exists(alive); i++) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(alive), "it beats while the command runs");
        w.descendants().forEach(ProcessHandle::destroyForcibly); // the command (its own session) goes too
        w.destroyForcibly();
        w.waitFor(10, TimeUnit.SECONDS);
        Files.setLastModifiedTime(alive, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(120)));
        String message = report(status, "60");
        assertTrue(message.startsWith("137\ngpudev: the run's wrapper stopped"), message);
    }
}

