package dev.gpudev.backend.local;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import dev.gpudev.processor.Parts;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Disks;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real processor driving this backend on a real database: what only the local backend can show
 * (SSH endpoints that listen, homes and disks on disk, GPUs and ports given back after a restart).
 * Processor behaviour itself is tested in the processor module, on the in-memory backend.
 */
class LocalBackendWithProcessorTest extends LocalProcessorFixture {

    @Test
    void anActiveReservationListensAndCancelStopsItButKeepsItsHome() {
        UUID id = submit(2, "1", Reservation.Options.NONE);
        Processor p = processor();
        p.cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        assertTrue(listening(r.connection().port()));
        assertEquals(List.of(0, 1), r.placement().gpus(), "the lowest free GPUs of the chosen node");
        cancel(id);
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertFalse(listening(r.connection().port()));
        assertTrue(backend.names().isEmpty());
        assertTrue(Files.isDirectory(home(id)));
    }

    @Test
    void twoEnvironmentsOnANodeNeverShareAGpu() {
        UUID a = submit(4, "1", Reservation.Options.NONE);
        UUID b = submit(4, "1", Reservation.Options.NONE);
        processor().cycle();
        assertEquals(List.of(0, 1, 2, 3), get(a).placement().gpus());
        assertEquals(List.of(4, 5, 6, 7), get(b).placement().gpus());
    }

    @Test
    void aRestartedServerBringsEnvironmentsBackOnTheirPortsAndGpus() {
        UUID first = submit(2, "1", Reservation.Options.NONE);
        UUID second = submit(2, "1", Reservation.Options.NONE);
        processor().cycle();
        int port = get(second).connection().port();
        var gpus = get(second).placement().gpus();
        backend.close(); // the whole server went away
        assertFalse(listening(port));
        backend = newBackend();
        cancel(first);
        processor().cycle();
        assertTrue(listening(port));
        assertEquals(gpus, get(second).placement().gpus(), "its GPUs, not the lowest free ones");
        assertEquals(ReservationStatus.ACTIVE, get(second).status());
    }

    @Test
    void aNamedDiskKeepsItsFilesUnderItsIdAcrossReservationsAndRenames() throws Exception {
        var disk = new Reservation.Options("work", false, null, Map.of());
        UUID first = submit(1, "1", disk);
        Processor p = processor();
        p.cycle();
        long diskId = get(first).options().diskId();
        Path dir = dataDir.resolve("disks").resolve(Long.toString(diskId));
        Files.writeString(dir.resolve("model.pt"), "weights");
        cancel(first);
        p.cycle();
        db.inTransaction(c -> {
            new Disks().rename(c, diskId, "renamed");
            return null;
        });
        UUID second = submit(1, "1", new Reservation.Options("renamed", false, null, Map.of()));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(second).status());
        assertEquals("weights", Files.readString(dir.resolve("model.pt")), "the disk came along, by its id");
        assertTrue(get(second).detailedStatus().contains("home: disk renamed"), get(second).detailedStatus());
    }

    @Test
    void aDiskKeptUnderItsOwnersNameBeforeDisksHadIdsIsMovedToItsIdOnce() throws Exception {
        Path legacy = dataDir.resolve("disks").resolve("alice").resolve("old");
        Files.createDirectories(legacy);
        Files.writeString(legacy.resolve("notes.txt"), "from before");
        long diskId = db.inTransaction(c -> new Disks().use(c, alice, "old"));
        backend.migrateLegacyDisks(List.of(new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "old")));
        assertFalse(Files.exists(legacy));
        assertTrue(Files.exists(dataDir.resolve("disks").resolve(DiskFiles.LAYOUT_MARKER)), "done once");
        UUID id = submit(1, "1", new Reservation.Options("old", false, null, Map.of()));
        processor().cycle();
        assertEquals(diskId, get(id).options().diskId());
        assertEquals("from before", Files.readString(dataDir.resolve("disks").resolve(Long.toString(diskId)).resolve("notes.txt")));
    }

    @Test
    void aUserNamedWithDigitsNeverTakesTheDiskWithThatId() throws Exception {
        // alice's disk holds a folder named like a disk another user would have kept under the old layout
        long data = db.inTransaction(c -> new Disks().use(c, alice, "data"));
        Path aliceDisk = dataDir.resolve("disks").resolve(Long.toString(data));
        Files.createDirectories(aliceDisk.resolve("loot"));
        Files.writeString(aliceDisk.resolve("loot").resolve("secret.txt"), "alice's");
        long digits = user(Long.toString(data));
        long loot = db.inTransaction(c -> new Disks().use(c, digits, "loot"));
        backend.migrateLegacyDisks(List.of(new dev.gpudev.backend.spi.DiskRef(data, alice, "alice", "data"),
                new dev.gpudev.backend.spi.DiskRef(loot, digits, Long.toString(data), "loot")));
        assertEquals("alice's", Files.readString(aliceDisk.resolve("loot").resolve("secret.txt")), "alice's files stay hers");
        assertTrue(backend.listDisk(new dev.gpudev.backend.spi.DiskRef(loot, digits, Long.toString(data), "loot"), 10).entries().isEmpty(),
                "the other user's disk is their own, empty");
        assertEquals("alice's", Files.readString(aliceDisk.resolve("loot").resolve("secret.txt")));
    }

    @Test
    void warningFilesLeaveAKeptDiskWhenTheReservationEnds() {
        var disk = new Reservation.Options("kept", false, null, Map.of());
        UUID id = submit(1, "0.1", disk);
        Processor p = processor();
        p.cycle();
        p.cycle();
        long diskId = get(id).options().diskId();
        Path dir = dataDir.resolve("disks").resolve(Long.toString(diskId));
        clock.advance(java.time.Duration.ofMinutes(1)); // 5 minutes left
        p.cycle();
        assertTrue(Files.exists(dir.resolve("WARN_EXPIRES_IN_5MIN.txt")), "a 6-minute reservation is warned at 5 minutes");
        assertFalse(Files.exists(dir.resolve("WARN_EXPIRES_IN_15MIN.txt")), "not under a name that would say 6");
        cancel(id);
        p.cycle();
        assertFalse(Files.exists(dir.resolve("WARN_EXPIRES_IN_5MIN.txt")), "the next reservation of the disk is not greeted by it");
    }

    @Test
    void aScratchHomeIsDeletedAtTheEndAndAnOrdinaryOneKept() throws Exception {
        UUID scratch = submit(1, "1", new Reservation.Options(null, true, null, Map.of()));
        UUID kept = submit(1, "1", Reservation.Options.NONE);
        Processor p = processor();
        p.cycle();
        Files.writeString(home(scratch).resolve("tmp.bin"), "x");
        Files.writeString(home(kept).resolve("keep.txt"), "x");
        cancel(scratch);
        cancel(kept);
        p.cycle();
        assertFalse(Files.exists(home(scratch)), "scratch home removed");
        assertTrue(Files.exists(home(kept).resolve("keep.txt")), "an ordinary home is kept");
    }

    @Test
    void aDeletedDiskLosesItsFilesButNeverUnderARunningEnvironmentNorOutsideTheDisks() throws Exception {
        UUID id = submit(1, "1", new Reservation.Options("old", false, null, Map.of()));
        Processor p = processor();
        p.cycle();
        long diskId = get(id).options().diskId();
        Path dir = dataDir.resolve("disks").resolve(Long.toString(diskId));
        Files.writeString(dir.resolve("f"), "x");
        var ref = new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "old");
        var busy = org.junit.jupiter.api.Assertions.assertThrows(dev.gpudev.backend.spi.BackendException.class, () -> backend.deleteDisk(ref));
        assertTrue(busy.isTransient());
        cancel(id);
        p.cycle();
        db.inTransaction(c -> commands.send(c, new Command.DeleteDisk(diskId, "alice", "old", "alice")));
        p.cycle();
        assertFalse(Files.exists(dir));
        Files.createDirectories(dataDir.resolve("pgdata"));
        var refused = org.junit.jupiter.api.Assertions.assertThrows(dev.gpudev.backend.spi.BackendException.class,
                () -> backend.deleteDisk(new dev.gpudev.backend.spi.DiskRef(-1, 0, "..", "pgdata")));
        assertFalse(refused.isTransient());
        backend.deleteDisk(new dev.gpudev.backend.spi.DiskRef(77, 0, "..", "..")); // none: nothing to do
        assertTrue(Files.isDirectory(dataDir.resolve("pgdata")), "names never lead out of the disks directory");
    }

    @Test
    void anEnvironmentOnAnotherPortAfterARestartHasItsEndpointRewritten() throws Exception {
        UUID id = submit(1, "1", Reservation.Options.NONE);
        processor().cycle();
        int port = get(id).connection().port();
        backend.close();
        try (var squatter = new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
            backend = newBackend();
            processor().cycle();
            int now = get(id).connection().port();
            assertNotEquals(port, now);
            assertTrue(listening(now));
            assertEquals(now, get(id).placement().slices().getFirst().sshPort());
        }
    }

    @Test
    void jupyterThatCannotStartIsAStatusLineNotADeadUrl() {
        UUID id = submit(1, "1", Reservation.Options.NONE);
        Processor p = processor();
        p.cycle();
        db.inTransaction(c -> commands.send(c, new Command.Jupyter(id, "alice", true)));
        p.cycle();
        String detail = get(id).detailedStatus();
        if (Sandbox.which("jupyter") == null) {
            assertTrue(detail.contains("jupyter: not started: Jupyter is not installed"), detail);
            assertFalse(detail.contains("http://"), "no URL that leads nowhere: " + detail);
        } else {
            assertTrue(detail.contains("token=" + get(id).lifecycle().jupyterAccess().token()), detail);
            assertTrue(detail.contains("gpu-dev connect"), "one command to reach it: " + detail);
        }
    }

    @Test
    void aListingOfATreeBuiltToPrintGigabytesStopsAtItsBoundAndSaysItWasCut() throws Exception {
        long diskId = db.inTransaction(c -> new Disks().use(c, alice, "deep"));
        Path dir = Files.createDirectories(dataDir.resolve("disks").resolve(Long.toString(diskId)));
        String name = "d".repeat(250);
        // 1,500 levels of 250-character names: find prints every path whole, a quarter of a gigabyte in all
        // (each level made relative to the last: the whole path is far past PATH_MAX)
        Process p = new ProcessBuilder("/usr/bin/perl", "-e", "chdir $ARGV[0] or die; for (1..1500) { mkdir '" + name + "' or die $!; chdir '"
                + name + "' or die $! }", dir.toString()).redirectErrorStream(true).start();
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes()));
        long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        var listing = backend.listDisk(new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "deep"), 1000);
        assertTrue(listing.truncated(), "cut short, and said so");
        assertTrue(listing.entries().size() <= 1000);
        assertTrue(listing.entries().size() > 10, "what fits in the bound is listed: " + listing.entries().size());
        long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(after - before < (200L << 20), "the server kept a bounded output, not the whole tree's: " + ((after - before) >> 20) + " MiB");
        backend.deleteDisk(new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "deep"));
    }
}
