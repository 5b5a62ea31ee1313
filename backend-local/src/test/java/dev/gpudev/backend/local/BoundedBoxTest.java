package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendContract;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Gang;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each environment a bounded box of its own (memory, processes, /tmp and /dev/shm, a tight view of the
 * host), that outlives the server, and a gang whose nodes meet: tried from inside as a tenant would, on
 * bubblewrap with control groups (the server as root).
 */
class BoundedBoxTest {
    @TempDir
    Path dataDir;
    private LocalBackend backend;
    private final Capacity capacity = new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true)));
    /** 512 MiB (the least an environment gets) and 300 processes an environment (one GPU each here). */
    private final LocalBackend.Settings small = new LocalBackend.Settings(256L << 20, 300, false);

    @BeforeEach
    void start() {
        Sandbox sandbox = Sandbox.detect();
        assumeTrue(sandbox instanceof Sandbox.Bubblewrap b && b.uidBase() >= 0, "bubblewrap and root are needed here");
        assumeTrue(Cgroups.forScope(LocalBackend.scope(dataDir)).isPresent(), "control groups are needed here");
        backend = new LocalBackend(dataDir, capacity, sandbox, small);
    }

    @AfterEach
    void stop() {
        if (backend != null) {
            backend.close();
        }
        LocalBackend.stopEnvironments(dataDir);
    }

    private static EnvironmentSpec spec(String name, int rank, Gang gang) {
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, rank, new EnvironmentSpec.Owner(7, "alice"), "n0", 1,
                List.of(BackendContract.KEY_A), null, new EnvironmentSpec.Home.Own(), null, gang);
    }

    private String inBox(String env, String script) throws Exception {
        Process p = new ProcessBuilder(LocalBackendProbe.commandIn(backend, env, List.of("/bin/bash", "-c", script))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "finished: " + out);
        return out;
    }

    private void awaitReady(String name) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            Observed o = backend.observe().get(name);
            if (o != null && o.phase() instanceof Observed.Phase.Ready) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(name + " not ready");
    }

    @Test
    void memoryProcessesAndTemporarySpaceAreBoundedAndShown() throws Exception {
        backend.ensure(spec("gpudev-bounds", 0, null));
        awaitReady("gpudev-bounds");
        String detail = ((Observed.Phase.Ready) backend.observe().get("gpudev-bounds").phase()).detail();
        assertTrue(detail.contains("limits: 512 MiB memory, 300 processes, /tmp and /dev/shm 256 MiB each"), detail);
        // /tmp and /dev/shm are sized: 1 GB does not fit
        String tmp = inBox("gpudev-bounds", "head -c 1000000000 /dev/zero > /dev/shm/big; echo rc=$?; rm -f /dev/shm/big;"
                + " df -k /tmp | tail -1");
        assertTrue(tmp.contains("No space left on device") && !tmp.contains("rc=0"), tmp);
        // memory: a process that takes more than its environment has is killed, in the environment only
        String mem = inBox("gpudev-bounds", "perl -e '$x = \"x\" x (800*1024*1024); print \"allocated\\n\"'; echo rc=$?");
        assertTrue(mem.lines().noneMatch("allocated"::equals) && mem.contains("Killed"), "800 MB in a 512 MiB environment: " + mem);
        // processes: a fork bomb stops at the limit
        // (on a busy machine the first sleeps may end while the last are forked: "reached it" allows for that)
        String forks = inBox("gpudev-bounds", "for i in $(seq 1 400); do sleep 7 > /dev/null 2>&1 & done 2>/dev/null; echo forked");
        long sleeping = ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("").endsWith("sleep 7")).count();
        assertTrue(sleeping <= 300 && sleeping >= 200, "at most 300 processes, and the bomb reached it: " + sleeping + " " + forks);
        assertEquals(backend.observe().get("gpudev-bounds").phase().getClass(), Observed.Phase.Ready.class, "the box itself survives");
    }

    @Test
    void theBoxSeesOnlyWhatItNeedsOfTheHost() throws Exception {
        backend.ensure(spec("gpudev-tight", 0, null));
        awaitReady("gpudev-tight");
        String out = inBox("gpudev-tight", String.join("; ",
                "echo host=$(hostname)", "grep -E '^(Cap(Eff|Prm|Inh|Amb)|NoNewPrivs)' /proc/self/status",
                "unshare -Ur true 2>/dev/null && echo NESTED-USERNS", "echo top=$(ls / | tr '\\n' ' ')",
                "cat /etc/shadow 2>&1 | head -c 100; echo", "ls /root /work 2>&1 | head -3",
                "tr '\\0' '\\n' < /proc/1/environ | grep -c . | sed 's/^/pid1-env=/'"));
        assertTrue(out.contains("host=gpudev-tight"), "its own hostname: " + out);
        // (its bounding set is full: a session enters with setns, which resets it; with no capability in any other
        // set and no new privileges, nothing can use it)
        for (String set : List.of("CapEff", "CapPrm", "CapInh", "CapAmb")) {
            assertTrue(out.contains(set + ":\t0000000000000000"), set + " empty: " + out);
        }
        assertTrue(out.contains("NoNewPrivs:\t1"), out);
        assertFalse(out.contains("NESTED-USERNS"), "no user namespaces inside: " + out);
        var top = java.util.regex.Pattern.compile("top=(.*)").matcher(out);
        assertTrue(top.find(), out);
        assertEquals("bin dev etc home lib lib64 opt proc run sbin tmp usr var", top.group(1).trim()
                .replaceAll(" ?(lib32|libx32)", ""), "only /usr, /etc, /opt of the host (and what the box makes): " + out);
        assertTrue(out.contains("cannot access '/work'") && out.contains("cannot access '/root'"), out);
        assertFalse(out.contains("root:"), "no shadow file: " + out);
    }

    @Test
    void environmentsOutliveTheServerAndAreTakenOverWithTheirJobs() throws Exception {
        backend.close();
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect(), small.keepingEnvironments(true));
        backend.ensure(spec("gpudev-lives", 0, null));
        awaitReady("gpudev-lives");
        int port = ((Observed.Phase.Ready) backend.observe().get("gpudev-lives").phase()).sshPort();
        inBox("gpudev-lives", "nohup sleep 317 > /dev/null 2>&1 &");
        long started = System.nanoTime() + 10_000_000_000L;
        while (sleepers() < 1 && System.nanoTime() < started) {
            Thread.sleep(20);
        }
        assertEquals(1, sleepers());
        backend.close(); // the server stops (or dies): the environment stays
        assertEquals(1, sleepers(), "the job runs on without the server");
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect(), small.keepingEnvironments(true));
        assertEquals(List.of("gpudev-lives"), backend.names(), "taken over by the next server");
        var ready = (Observed.Phase.Ready) backend.observe().get("gpudev-lives").phase();
        assertEquals(port, ready.sshPort(), "on its endpoint's port");
        assertTrue(inBox("gpudev-lives", "pgrep -c -f 'sleep 317'").trim().startsWith("1"), "the same job, seen from inside");
        backend.destroy("gpudev-lives");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (sleepers() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, sleepers(), "ended with its environment");
        assertEquals(0, ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("").contains(dataDir.toString())
                && h.info().command().orElse("").endsWith("slirp4netns")).count(), "no network helper left behind");
    }

    @Test
    void theNodesOfAGangShareNodeZerosNetworkAndNothingElseDoes() throws Exception {
        assumeTrue(((Sandbox.Bubblewrap) Sandbox.detect()).slirp4netns() != null, "slirp4netns is needed for an own network");
        var gang = new Gang(List.of("gpudev-g0", "gpudev-g0-n1"));
        backend.ensure(spec("gpudev-g0", 0, gang));
        backend.ensure(spec("gpudev-g0-n1", 1, gang));
        backend.ensure(spec("gpudev-other", 0, null));
        awaitReady("gpudev-g0");
        awaitReady("gpudev-g0-n1");
        awaitReady("gpudev-other");
        String env = inBox("gpudev-g0-n1", "echo $MASTER_ADDR:$MASTER_PORT $NODE_RANK/$WORLD_SIZE");
        var m = java.util.regex.Pattern.compile("127\\.0\\.0\\.1:(\\d+) 1/2").matcher(env);
        assertTrue(m.find(), env);
        int port = Integer.parseInt(m.group(1));
        Process listener = new ProcessBuilder(LocalBackendProbe.commandIn(backend, "gpudev-g0", List.of("perl", "-MIO::Socket::INET", "-e",
                "$s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => " + port + ", Listen => 5, ReuseAddr => 1) or die;"
                        + " print \"listening\\n\"; $|=1; for (1..2) { $c = $s->accept or last; print $c \"hello from node 0\\n\"; close $c }")))
                .redirectErrorStream(true).start();
        try {
            byte[] first = new byte[10];
            assertEquals(10, listener.getInputStream().readNBytes(first, 0, 10), "node 0 listens");
            String fromNode1 = inBox("gpudev-g0-n1", "exec 3<>/dev/tcp/127.0.0.1/" + port + " && head -1 <&3");
            assertTrue(fromNode1.contains("hello from node 0"), "node 1 reaches node 0's MASTER_PORT: " + fromNode1);
            String fromOther = inBox("gpudev-other", "(exec 3<>/dev/tcp/127.0.0.1/" + port + " && head -1 <&3) 2>&1; echo done");
            assertFalse(fromOther.contains("hello from node 0"), "another environment does not: " + fromOther);
        } finally {
            listener.descendants().forEach(ProcessHandle::destroyForcibly);
            listener.destroyForcibly();
        }
    }

    private static long sleepers() {
        return ProcessHandle.allProcesses().filter(h -> h.info().command().orElse("").endsWith("/sleep")
                && h.info().commandLine().orElse("").matches(".*sleep 317$")).count();
    }

    @Test
    void aHomePastItsQuotaIsToldAndStopsGrowingUntilFilesAreDeleted() throws Exception {
        backend.close();
        // 8 MiB a home, measured on demand here (the server measures every 5 minutes); writing past it fails
        // ("File size limit exceeded": SIGXFSZ, or EFBIG where the signal is ignored)
        backend = new LocalBackend(dataDir, capacity, Sandbox.detect(), small.withHomeQuota(8L << 20, java.time.Duration.ofHours(1)));
        backend.ensure(spec("gpudev-quota", 0, null));
        awaitReady("gpudev-quota");
        Process writer = new ProcessBuilder(LocalBackendProbe.commandIn(backend, "gpudev-quota", List.of("/bin/bash", "-c",
                "while true; do sleep 0.2; done"))).start(); // a process already running when the quota is reached
        try {
            inBox("gpudev-quota", "head -c 7600000 /dev/zero > ~/near.bin");
            backend.measureHomes();
            assertTrue(inBox("gpudev-quota", "cat ~/QUOTA_WARNING.txt").contains("past it, files stop growing"));
            inBox("gpudev-quota", "head -c 3000000 /dev/zero > ~/over.bin");
            backend.measureHomes();
            String detail = ((Observed.Phase.Ready) backend.observe().get("gpudev-quota").phase()).detail();
            assertTrue(detail.contains("over its quota: files cannot grow"), detail);
            String grow = inBox("gpudev-quota", "head -c 100000 /dev/zero >> ~/over.bin; echo rc=$?; ls -l ~/over.bin | awk '{print $5}'");
            assertTrue((grow.contains("File too large") || grow.contains("File size limit exceeded")) && grow.contains("\n3000000"),
                    "a new session cannot grow a file: " + grow);
            String limits = Files.readString(Path.of("/proc/" + writer.pid() + "/limits"));
            assertTrue(limits.lines().anyMatch(l -> l.startsWith("Max file size") && l.contains(" 0 ")),
                    "a process already running is limited too: " + limits);
            assertTrue(inBox("gpudev-quota", "rm ~/over.bin ~/near.bin && echo deleted").contains("deleted"), "deleting works");
            // a sparse file counts at its size: its holes cannot be filled later past the quota unseen
            backend.measureHomes();
            inBox("gpudev-quota", "truncate -s 1G ~/sparse.bin");
            backend.measureHomes();
            String sparse = ((Observed.Phase.Ready) backend.observe().get("gpudev-quota").phase()).detail();
            assertTrue(sparse.contains("over its quota"), sparse);
            inBox("gpudev-quota", "rm ~/sparse.bin");
            backend.measureHomes();
            assertTrue(inBox("gpudev-quota", "head -c 100000 /dev/zero > ~/small.bin; echo rc=$?").contains("rc=0"), "under it again: files grow");
            assertFalse(inBox("gpudev-quota", "ls ~").contains("QUOTA_WARNING"), "the warning goes");
        } finally {
            writer.descendants().forEach(ProcessHandle::destroyForcibly);
            writer.destroyForcibly();
        }
    }

    @Test
    void tunnelsIntoABoxAreFewAndGoWithTheirLastUser() throws Exception {
        assumeTrue(((Sandbox.Bubblewrap) Sandbox.detect()).slirp4netns() != null, "slirp4netns is needed for an own network");
        backend.ensure(spec("gpudev-tunnels", 0, null));
        awaitReady("gpudev-tunnels");
        Box box = LocalBackendProbe.boxOf(backend, "gpudev-tunnels");
        List<Integer> hostPorts = new java.util.ArrayList<>();
        for (int port = 9000; port < 9000 + BubblewrapBox.MAX_FORWARDS; port++) {
            hostPorts.add(box.forward(port));
        }
        assertEquals(hostPorts.getFirst(), box.forward(9000), "a second tunnel to a port shares its forward");
        var refused = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> box.forward(9999));
        assertTrue(refused.getMessage().contains("at most 16"), refused.getMessage());
        box.unforward(9000); // one of its two tunnels closes: still forwarded
        assertTrue(box.forwarding(9000));
        box.unforward(9000); // the last: gone, and its host port leads nowhere
        assertFalse(box.forwarding(9000));
        long deadline = System.nanoTime() + 5_000_000_000L;
        boolean closed = false;
        while (!closed && System.nanoTime() < deadline) {
            try (var s = new java.net.Socket("127.0.0.1", hostPorts.getFirst())) {
                Thread.sleep(20);
            } catch (java.io.IOException e) {
                closed = true;
            }
        }
        assertTrue(closed, "the host port of a removed forward no longer accepts");
        box.forward(9999); // and there is room for another
    }

    @Test
    void aDiskIsListedAsItsOwnerSoALinkToTheServersFilesShowsNothingOfThem() throws Exception {
        Path secret = Files.writeString(dataDir.resolve("admin-token"), "the-admin-token");
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        var ref = new dev.gpudev.backend.spi.DiskRef(77, 7, "alice", "data");
        Path disk = Files.createDirectories(dataDir.resolve("disks").resolve("77"));
        Files.createSymbolicLink(disk.resolve("evil"), dataDir);
        Files.createDirectories(disk.resolve("mine"));
        Files.writeString(disk.resolve("mine").resolve("notes.txt"), "hers");
        int uid = Accounts.uid(((Sandbox.Bubblewrap) Sandbox.detect()).uidBase(), 7);
        try (var all = Files.walk(disk)) {
            for (Path p : all.toList()) {
                Files.setAttribute(p, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
        }
        var paths = backend.listDisk(ref, 100).entries().stream().map(e -> e.path() + (e.directory() ? "/" : "")).toList();
        assertTrue(paths.contains("evil") && paths.contains("mine/") && paths.contains("mine/notes.txt"), paths.toString());
        assertTrue(paths.stream().noneMatch(p -> p.startsWith("evil/")), "the link is listed, never followed: " + paths);
        // and were it followed (a directory swapped for it mid-listing), the owner's uid could not read the data dir
        Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--",
                "/bin/ls", dataDir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        assertFalse(out.contains("admin-token"), out);
    }
}
