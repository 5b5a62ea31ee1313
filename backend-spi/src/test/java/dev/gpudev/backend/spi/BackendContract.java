package dev.gpudev.backend.spi;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What every backend must do, whatever it runs on. A backend's test extends this and says how to make
 * one and how to put a file on one of its disks; everything else is asked through {@link Backend}.
 */
public abstract class BackendContract {
    /** An ed25519 key to authorize (never used to log in here). */
    public static final String KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ a@t";
    public static final String KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIUifzcmilPK8+5TRpEQudBXxO6WvN3gLbKyMYaepoDn b@t";

    protected Backend backend;

    /** A new backend with at least one node that has two or more GPUs. */
    protected abstract Backend newBackend() throws Exception;

    /** Puts a file on a disk, as a user's environment would have (the disk need not exist yet). */
    protected abstract void putOnDisk(DiskRef disk, String path, String content) throws Exception;

    /** Whether the environment lets this public key in now. */
    protected abstract boolean accepts(String name, String publicKey) throws Exception;

    /** The notices its users find now (file name to text). */
    protected abstract Map<String, String> notices(String name) throws Exception;

    /** How long an environment may take to be ready here. */
    protected Duration readyWithin() {
        return Duration.ofSeconds(30);
    }

    @BeforeEach
    void makeBackend() throws Exception {
        backend = newBackend();
    }

    @AfterEach
    void closeBackend() {
        if (backend != null) {
            for (String name : backend.observe().keySet()) {
                try {
                    backend.destroy(name);
                } catch (BackendException e) {
                    // best effort
                }
            }
            backend.close();
        }
        afterBackend();
    }

    /** After the backend is closed (what it runs against may stop now). */
    protected void afterBackend() {
    }

    protected EnvironmentSpec spec(String name, int rank, List<String> keys, EnvironmentSpec.Home home) {
        var node = backend.capacity().nodes().stream().filter(n -> n.gpus().size() >= 2).findFirst().orElseThrow();
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, rank, new EnvironmentSpec.Owner(7, "alice"),
                node.name(), 1, keys, null, home, null, null);
    }

    protected EnvironmentSpec spec(String name) {
        return spec(name, 0, List.of(KEY_A), new EnvironmentSpec.Home.Own());
    }

    protected Observed.Phase.Ready awaitReady(String name) throws InterruptedException {
        Instant deadline = Instant.now().plus(readyWithin());
        while (Instant.now().isBefore(deadline)) {
            Observed o = backend.observe().get(name);
            if (o != null && o.phase() instanceof Observed.Phase.Ready ready) {
                return ready;
            }
            if (o != null && o.phase() instanceof Observed.Phase.Failed f) {
                fail(name + " failed: " + f.reason());
            }
            Thread.sleep(20);
        }
        fail(name + " was not ready within " + readyWithin());
        return null;
    }

    @Test
    void capacityHasNodesWithTypesAndGpus() {
        assertFalse(backend.capacity().nodes().isEmpty());
        backend.capacity().nodes().forEach(n -> {
            assertNotNull(n.gpuType());
            assertFalse(n.name().isBlank());
        });
    }

    @Test
    void anEnsuredEnvironmentIsObservedOnceWithItsReservationAndRankAndBecomesReady() throws Exception {
        var s = spec("gpudev-contract-a");
        backend.ensure(s);
        backend.ensure(s);
        var seen = backend.observe().get(s.name());
        assertNotNull(seen, "observed after ensure");
        assertEquals(s.reservationId(), seen.reservationId());
        assertEquals(0, seen.rank());
        assertEquals(1, backend.observe().keySet().stream().filter(n -> n.equals(s.name())).count());
        var ready = awaitReady(s.name());
        assertFalse(ready.sshHost().isBlank());
        assertTrue(ready.sshPort() > 0 && ready.sshPort() < 65536, "port " + ready.sshPort());
    }

    @Test
    void ensuringAgainWithMoreKeysChangesTheEnvironmentInPlace() throws Exception {
        var s = spec("gpudev-contract-keys");
        backend.ensure(s);
        var first = awaitReady(s.name());
        assertTrue(accepts(s.name(), KEY_A));
        assertFalse(accepts(s.name(), KEY_B), "not yet");
        backend.ensure(spec(s.name(), 0, List.of(KEY_A, KEY_B), new EnvironmentSpec.Home.Own()));
        var again = awaitReady(s.name());
        assertEquals(first.sshHost(), again.sshHost(), "same environment, same endpoint");
        assertEquals(first.sshPort(), again.sshPort());
        assertTrue(accepts(s.name(), KEY_A) && accepts(s.name(), KEY_B), "the added user's key is let in");
        backend.ensure(spec(s.name(), 0, List.of(KEY_B), new EnvironmentSpec.Home.Own()));
        assertFalse(accepts(s.name(), KEY_A), "a key taken away is refused");
    }

    @Test
    void destroyRemovesItAndIsIdempotent() throws Exception {
        var s = spec("gpudev-contract-gone");
        backend.ensure(s);
        awaitReady(s.name());
        backend.destroy(s.name());
        backend.destroy(s.name());
        backend.destroy("gpudev-never-was");
        assertFalse(backend.observe().containsKey(s.name()));
    }

    @Test
    void activityCoversEveryEnvironmentInOneCall() throws Exception {
        backend.ensure(spec("gpudev-contract-act1"));
        backend.ensure(spec("gpudev-contract-act2", 0, List.of(KEY_A), new EnvironmentSpec.Home.Scratch()));
        awaitReady("gpudev-contract-act1");
        awaitReady("gpudev-contract-act2");
        Map<String, Activity> all = backend.activity();
        assertTrue(all.containsKey("gpudev-contract-act1") && all.containsKey("gpudev-contract-act2"), all.keySet().toString());
        all.values().forEach(a -> assertTrue(a.openSessions() >= 0));
    }

    @Test
    void theNodesOfAGangAreMadeAndEachKnowsItsPlace() throws Exception {
        var node = backend.capacity().nodes().stream().filter(n -> n.gpus().size() >= 2).findFirst().orElseThrow();
        UUID id = UUID.nameUUIDFromBytes("gpudev-contract-gang".getBytes());
        var gang = new Gang(List.of("gpudev-contract-gang", "gpudev-contract-gang-n1"));
        for (int rank = 0; rank < 2; rank++) {
            backend.ensure(new EnvironmentSpec(id, gang.members().get(rank), rank, new EnvironmentSpec.Owner(7, "alice"), node.name(), 1,
                    List.of(KEY_A), null, new EnvironmentSpec.Home.Scratch(), null, gang));
        }
        awaitReady("gpudev-contract-gang");
        awaitReady("gpudev-contract-gang-n1");
        var seen = backend.observe();
        assertEquals(0, seen.get("gpudev-contract-gang").rank());
        assertEquals(1, seen.get("gpudev-contract-gang-n1").rank());
        backend.destroy("gpudev-contract-gang-n1");
        backend.destroy("gpudev-contract-gang");
    }

    @Test
    void noticesGoToARunningEnvironmentAndAreClearedByPrefix() throws Exception {
        backend.notify("gpudev-never-was", "WARN_X.txt", "nobody home");
        var s = spec("gpudev-contract-notice");
        backend.ensure(s);
        awaitReady(s.name());
        backend.notify(s.name(), "WARN_EXPIRES_IN_15MIN.txt", "expires in 15 minutes");
        backend.notify(s.name(), "WARN_EXPIRES_IN_5MIN.txt", "expires soon");
        backend.notify(s.name(), "IDLE_WARNING.txt", "idle");
        backend.notify(s.name(), "WARN_EXPIRES_IN_5MIN.txt", "expires very soon");
        Map<String, String> seen = notices(s.name());
        assertTrue(seen.get("WARN_EXPIRES_IN_5MIN.txt").contains("expires very soon"), "a notice of the same name replaces the earlier: " + seen);
        assertTrue(seen.containsKey("WARN_EXPIRES_IN_15MIN.txt") && seen.containsKey("IDLE_WARNING.txt"), seen.toString());
        backend.clearNotices(s.name(), "WARN_");
        seen = notices(s.name());
        assertFalse(seen.containsKey("WARN_EXPIRES_IN_5MIN.txt") || seen.containsKey("WARN_EXPIRES_IN_15MIN.txt"), "cleared: " + seen);
        assertTrue(seen.containsKey("IDLE_WARNING.txt"), "only those of the prefix: " + seen);
        backend.clearNotices("gpudev-never-was", "WARN_");
    }

    @Test
    void aDiskIsListedByIdShallowestFirstAndDeletedWithItsFiles() throws Exception {
        DiskRef disk = new DiskRef(4242, 7, "alice", "data");
        assertTrue(backend.listDisk(disk, 10).entries().isEmpty(), "a never-used disk lists empty");
        putOnDisk(disk, "top.txt", "hello");
        putOnDisk(disk, "sub/deep.txt", "hello world");
        DiskListing listing = backend.listDisk(disk, 10);
        List<String> paths = listing.entries().stream().map(DiskListing.Entry::path).toList();
        assertTrue(paths.contains("top.txt") && paths.contains("sub/deep.txt"), paths.toString());
        assertTrue(paths.indexOf("top.txt") < paths.indexOf("sub/deep.txt"), "shallowest first: " + paths);
        assertEquals(16, listing.totalBytes());
        DiskListing one = backend.listDisk(disk, 1);
        assertEquals(1, one.entries().size());
        assertTrue(one.truncated());
        backend.deleteDisk(disk);
        backend.deleteDisk(disk);
        assertTrue(backend.listDisk(disk, 10).entries().isEmpty());
    }

    @Test
    void anEnvironmentOnANodeTheBackendDoesNotHaveFailsForGood() {
        var s = spec("gpudev-contract-nowhere");
        var bad = new EnvironmentSpec(s.reservationId(), s.name(), 0, s.owner(), "no-such-node", 1, s.authorizedKeys(), null,
                s.home(), null, null);
        try {
            backend.ensure(bad);
        } catch (BackendException e) {
            assertFalse(e.isTransient(), "a node that does not exist will not come: " + e.getMessage());
            return;
        }
        var o = backend.observe().get(s.name());
        assertNotNull(o, "neither refused nor observed");
        var f = assertInstanceOf(Observed.Phase.Failed.class, o.phase());
        assertFalse(f.isTransient());
    }
}
