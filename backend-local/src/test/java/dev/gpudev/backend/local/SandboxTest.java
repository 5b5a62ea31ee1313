package dev.gpudev.backend.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A box, tried from inside as a hostile tenant would. */
class SandboxTest {
    @TempDir
    Path data;

    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    Box.Spec spec(String name, long userId, Sandbox sandbox) throws Exception {
        Path env = Files.createDirectories(data.resolve("environments").resolve(name));
        Path home = Files.createDirectories(env.resolve("home"));
        int uid = sandbox instanceof Sandbox.Bubblewrap b ? Accounts.uid(b.uidBase(), userId) : Accounts.serverUid();
        Accounts.own(home, uid);
        String user = "user" + userId;
        Accounts.writeIdentity(env, user, uid, sandbox.isolates() ? "/home/" + user : home.toString());
        return new Box.Spec(name, home, env, data, uid, user, List.of(),
                Map.of("PATH", "/usr/bin:/bin", "HOME", sandbox.isolates() ? "/home/" + user : home.toString(), "CUDA_VISIBLE_DEVICES", "2,3"));
    }

    @Test
    void aPlainBoxRunsWithExactlyTheGivenEnvironmentInItsHome() throws Exception {
        Sandbox plain = new Sandbox.Plain();
        Box.Spec s = spec("plain", 1, plain);
        try (Box box = plain.start(s)) {
            String out = run(box.command(List.of("/bin/sh", "-c", "pwd; env | sort"), Map.of()));
            assertTrue(out.startsWith(s.home().toString()), out);
            assertTrue(out.contains("CUDA_VISIBLE_DEVICES=2,3"), out);
            assertFalse(out.contains("JAVA_HOME"), "nothing of the server's environment leaks: " + out);
        }
    }

    @Test
    void aTenantInABubblewrapBoxFindsNoWayOut() throws Exception {
        Sandbox sandbox = Sandbox.detect();
        assumeTrue(sandbox instanceof Sandbox.Bubblewrap, "bubblewrap is not installed here");
        Files.writeString(data.resolve("admin-token"), "the-admin-token");
        Files.setPosixFilePermissions(data.resolve("admin-token"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Box.Spec other = spec("other", 2, sandbox);
        Files.writeString(other.home().resolve("secret.txt"), "the-other-users-secret");
        Box.Spec mine = spec("mine", 1, sandbox);
        try (ServerSocket hostService = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             Box box = sandbox.start(mine)) {
            int port = hostService.getLocalPort();
            String script = String.join("; ",
                    "id -u", "echo home=$HOME", "grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status",
                    "cat " + data.resolve("admin-token") + " 2>&1 | head -c 200; echo",
                    "cat " + other.home().resolve("secret.txt") + " 2>&1 | head -c 200; echo",
                    "ls " + data + " 2>&1 | head -5",
                    "umount -l /tmp 2>&1; echo umount-rc=$?",
                    "ps -e --no-headers | wc -l | sed 's/^/processes=/'",
                    "ls /dev | tr '\\n' ' '; echo",
                    "(exec 3<>/dev/tcp/127.0.0.1/" + port + " && echo host-port-REACHABLE) 2>&1 | tail -1",
                    "kill -9 " + ProcessHandle.current().pid() + " 2>&1; echo kill-rc=$?",
                    "echo written > mine.txt && cat mine.txt");
            String out = run(box.command(List.of("/bin/bash", "-c", script), Map.of()));
            assertTrue(out.contains("home=/home/user1"), out);
            assertTrue(out.contains("CapEff:\t0000000000000000") && out.contains("CapPrm:\t0000000000000000"), "no capabilities: " + out);
            assertTrue(out.contains("NoNewPrivs:\t1"), out);
            assertFalse(out.contains("the-admin-token"), "the data dir is out of reach: " + out);
            assertFalse(out.contains("the-other-users-secret"), "another user's home is out of reach: " + out);
            assertTrue(out.contains("umount-rc=") && !out.contains("umount-rc=0"), "no unmounting: " + out);
            var processes = java.util.regex.Pattern.compile("processes=(\\d+)").matcher(out);
            assertTrue(processes.find() && Integer.parseInt(processes.group(1)) < 10, "its own PID namespace: " + out);
            assertFalse(out.contains("nvidia"), "no GPU device it was not given: " + out);
            if (box.ownNetwork()) {
                assertFalse(out.contains("host-port-REACHABLE"), "the host's loopback is out of reach: " + out);
            }
            assertFalse(out.contains("kill-rc=0"), "the server is out of reach: " + out);
            assertTrue(out.contains("written"), "its own home is writable: " + out);
            if (Accounts.serverIsRoot()) {
                assertTrue(out.startsWith(Integer.toString(mine.uid())), "a uid of its own, not root: " + out);
                assertEquals(mine.uid(), Files.getAttribute(mine.home().resolve("mine.txt"), "unix:uid"), "files are the owner's");
            }
        }
    }

    @Test
    void aBackgroundJobOutlivesItsSessionAndEndsWithTheBox() throws Exception {
        Sandbox sandbox = Sandbox.detect();
        assumeTrue(sandbox instanceof Sandbox.Bubblewrap, "bubblewrap is not installed here");
        Box.Spec s = spec("jobs", 3, sandbox);
        Box box = sandbox.start(s);
        try {
            run(box.command(List.of("/bin/bash", "-c", "nohup sleep 300 > /dev/null 2>&1 & setsid sleep 301 > /dev/null 2>&1 < /dev/null &"),
                    Map.of()));
            Instant started = Instant.now().plus(Duration.ofSeconds(10));
            while (sleepers() != 2 && Instant.now().isBefore(started)) {
                Thread.sleep(20);
            }
            assertEquals(2, sleepers(), "both jobs run after the session ended");
        } finally {
            box.close();
        }
        Instant deadline = Instant.now().plus(Duration.ofSeconds(5));
        while (sleepers() > 0 && Instant.now().isBefore(deadline)) {
            Thread.sleep(50);
        }
        assertEquals(0, sleepers(), "and nothing of the box outlives it");
    }

    private static long sleepers() {
        // the sleeps themselves (not nohup or setsid a moment before they exec into sleep)
        return ProcessHandle.allProcesses().filter(h -> h.info().command().orElse("").endsWith("/sleep")
                && h.info().commandLine().orElse("").matches(".*sleep 30[01]$")).count();
    }
}
