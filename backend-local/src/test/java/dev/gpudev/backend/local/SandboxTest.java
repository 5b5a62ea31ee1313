package dev.gpudev.backend.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SandboxTest {
    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    @Test
    void plainProcessGetsExactlyTheGivenEnvironmentInItsHome(@TempDir Path tmp) throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        String out = run(new Sandbox.Plain().wrap(List.of("/bin/sh", "-c", "pwd; env | sort"), home, tmp.resolve("data"),
                Map.of("CUDA_VISIBLE_DEVICES", "2,3", "PATH", "/usr/bin:/bin")));
        assertTrue(out.startsWith(home.toString()), out);
        assertTrue(out.contains("CUDA_VISIBLE_DEVICES=2,3"), out);
        assertFalse(out.contains("JAVA_HOME"), "nothing of the server's environment leaks: " + out);
    }

    @Test
    void bubblewrapHidesTheDataDirAndKeepsTheHomeWritable(@TempDir Path tmp) throws Exception {
        Sandbox s = Sandbox.detect();
        assumeTrue(s instanceof Sandbox.Bubblewrap, "bubblewrap is not installed here");
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("admin-token"), "secret");
        Path home = Files.createDirectories(data.resolve("environments/e1/home"));
        String out = run(s.wrap(List.of("/bin/sh", "-c", "cat " + data.resolve("admin-token") + " 2>&1; echo hi > f; cat f; touch /usr/x 2>&1"),
                home, data, Map.of("PATH", "/usr/bin:/bin")));
        assertFalse(out.contains("secret"), out);
        assertTrue(out.contains("hi"), out);
        assertTrue(out.contains("Read-only"), out);
        assertEquals("hi\n", Files.readString(home.resolve("f")));
    }
}
