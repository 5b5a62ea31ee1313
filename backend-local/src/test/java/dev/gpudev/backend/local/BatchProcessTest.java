package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendContract;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.BatchRun;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A batch run in a local environment: started once as its owner, its end (code and the log's end) read as
 * the owner, a copied folder waited for, and a run that outlives the server followed by the next one.
 */
class BatchProcessTest {
    @TempDir
    Path dataDir;
    private LocalBackend backend;
    private final Capacity capacity = new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3), true)));

    @AfterEach
    void stop() {
        if (backend != null) {
            backend.close();
        }
        LocalBackend.stopEnvironments(dataDir);
    }

    private static EnvironmentSpec spec(String name, BatchRun run) {
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, 0, new EnvironmentSpec.Owner(7, "alice"), "n0", 1,
                List.of(BackendContract.KEY_A), null, new EnvironmentSpec.Home.Own(), null, null,
                new dev.gpudev.core.EnvVars(java.util.Map.of("MODE", "fast")), run);
    }

    private Observed.RunEnd awaitEnd(String name) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            Observed o = backend.observe().get(name);
            if (o != null && o.runEnd() != null) {
                return o.runEnd();
            }
            Thread.sleep(20);
        }
        throw new AssertionError(name + ": its run did not end");
    }

    private String inBox(String env, String script) throws Exception {
        Process p = new ProcessBuilder(LocalBackendProbe.commandIn(backend, env, List.of("/bin/bash", "-c", script))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finished: " + out);
        return out;
    }

    @Test
    void theCommandRunsOnceAsTheOwnerWithTheReservationsVariablesAndItsEndIsRead() throws Exception {
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect());
        var run = new BatchRun(List.of("sh", "-c", "echo \"as $(id -u) mode=$MODE gpus=$CUDA_VISIBLE_DEVICES in $PWD\"; echo oops >&2; exit 7"), null, false);
        backend.ensure(spec("gpudev-batch", run));
        Observed.RunEnd end = awaitEnd("gpudev-batch");
        assertEquals(7, end.exitCode());
        String home = inBox("gpudev-batch", "printf %s \"$HOME\"");
        String uid = inBox("gpudev-batch", "id -u").strip();
        assertEquals("as " + uid + " mode=fast gpus=0 in " + home + "\noops\n", end.logTail());
        assertEquals("7", inBox("gpudev-batch", "cat ~/.gpudev/runs/gpudev-batch.exit").strip(), "recorded in the home");
        assertTrue(backend.observe().get("gpudev-batch").phase() instanceof Observed.Phase.Ready, "the environment stays until the platform ends it");
    }

    @Test
    void aCopiedFolderIsWaitedForThenTheCommandRunsInIt() throws Exception {
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect());
        backend.ensure(spec("gpudev-wait", new BatchRun(List.of("cat", "input.txt"), "proj", false)));
        Thread.sleep(300);
        assertNull(backend.observe().get("gpudev-wait").runEnd(), "it waits for its folder");
        // what the CLI does over SSH: the copy, then the word that it is done
        inBox("gpudev-wait", "mkdir -p ~/proj ~/.gpudev/runs && echo copied > ~/proj/input.txt && : > ~/.gpudev/runs/gpudev-wait.go");
        Observed.RunEnd end = awaitEnd("gpudev-wait");
        assertEquals(0, end.exitCode());
        assertEquals("copied\n", end.logTail());
    }

    @Test
    void theEndOfALongLogIsItsLast64KiB() throws Exception {
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect());
        backend.ensure(spec("gpudev-long", new BatchRun(List.of("sh", "-c", "seq 1 100000; echo the-end"), null, false)));
        Observed.RunEnd end = awaitEnd("gpudev-long");
        assertEquals(Observed.RunEnd.TAIL_BYTES, end.logTail().length());
        assertTrue(end.logTail().endsWith("99999\n100000\nthe-end\n"), end.logTail().substring(end.logTail().length() - 40));
    }

    @Test
    void aRunThatOutlivesTheServerIsFollowedByTheNextOneAndNeverStartedTwice() throws Exception {
        Sandbox sandbox = Sandbox.detect();
        assumeTrue(sandbox instanceof Sandbox.Bubblewrap b && b.uidBase() >= 0, "bubblewrap and root are needed here");
        assumeTrue(Cgroups.forScope(LocalBackend.scope(dataDir)).isPresent(), "control groups are needed here");
        var settings = new LocalBackend.Settings(256L << 20, 300, false).keepingEnvironments(true);
        backend = new LocalBackend(dataDir, capacity, sandbox, settings);
        backend.ensure(spec("gpudev-outlive", new BatchRun(List.of("sh", "-c", "echo start; while [ ! -e ~/release ]; do sleep 0.1; done;"
                + " echo end; exit 5"), null, false)));
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!inBox("gpudev-outlive", "cat ~/.gpudev/runs/gpudev-outlive.log 2>/dev/null").contains("start") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        backend.close(); // the server stops: the run goes on
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect(), settings);
        assertEquals(List.of("gpudev-outlive"), backend.names());
        assertNull(backend.observe().get("gpudev-outlive").runEnd(), "still running");
        inBox("gpudev-outlive", "touch ~/release");
        Observed.RunEnd end = awaitEnd("gpudev-outlive");
        assertEquals(5, end.exitCode(), "the code it recorded");
        assertEquals("start\nend\n", end.logTail(), "run once");
    }
}
