package dev.gpudev.backend.local;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.StatusChange;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Extensions, expiry warnings, timeouts, idle detection and limits, on an injected clock. */
class LifecycleTest extends ProcessorTestBase {

    long alice;
    long bob;

    @BeforeEach
    void setUp() {
        alice = db.inTransaction(c -> new Users().ensure(c, "alice", false).userId());
        bob = db.inTransaction(c -> new Users().ensure(c, "bob", false).userId());
    }

    Processor processor(ProcessorSettings settings) {
        return processor(backend, settings);
    }

    Processor processor() {
        return processor(ProcessorSettings.defaults());
    }

    UUID submit(long user, String type, int gpus, String hours) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        clock.advance(Duration.ofMillis(1));
        db.inTransaction(c -> {
            reservations.insert(c, new Reservation(id, user, "u", ReservationStatus.QUEUED, type, gpus, new BigDecimal(hours),
                    "r" + id.toString().substring(0, 6), at, null, null, null, null, null, "queued", null, null,
                    List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted"))));
            commands.send(c, new CommandQueue.Command(CommandQueue.Type.create, id, "u"));
            return null;
        });
        return id;
    }

    void extend(UUID id, String hours) {
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.extend, id, "alice", new BigDecimal(hours))));
    }

    Path home(UUID id) {
        return dataDir.resolve("environments").resolve(Reservation.environmentName(id)).resolve("home");
    }

    @Test
    void extendingMovesTheEndInPlaceAndIsRecorded() {
        UUID id = submit(alice, "h100", 1, "1");
        Processor p = processor();
        p.cycle();
        Instant end = get(id).expiresAt();
        int port = get(id).connection().port();
        extend(id, "2.5");
        p.cycle();
        Reservation r = get(id);
        assertEquals(end.plus(Duration.ofMinutes(150)), r.expiresAt());
        assertEquals(0, new BigDecimal("3.5").compareTo(r.durationHours()));
        assertEquals(port, r.connection().port(), "same environment");
        assertTrue(r.history().getLast().reason().startsWith("extended by 2.5 h"), r.history().getLast().reason());
    }

    @Test
    void extensionsBeyond48HoursInAllAreRefusedAndSaySo() {
        UUID id = submit(alice, "h100", 1, "24");
        Processor p = processor();
        p.cycle();
        extend(id, "20");
        p.cycle();
        extend(id, "5");
        p.cycle();
        Reservation r = get(id);
        assertEquals(0, new BigDecimal("44").compareTo(r.durationHours()));
        assertTrue(r.history().getLast().reason().contains("at most 48 hours"), r.history().getLast().reason());
        assertTrue(r.history().getLast().reason().contains("4 more hours"), r.history().getLast().reason());
    }

    @Test
    void expiryWarningsComeOnceEachAndAnExtensionResetsThem() throws Exception {
        UUID id = submit(alice, "h100", 1, "1");
        Processor p = processor();
        p.cycle();
        clock.advance(Duration.ofMinutes(29));
        p.cycle();
        assertFalse(Files.exists(home(id).resolve("WARN_EXPIRES_IN_30MIN.txt")));
        clock.advance(Duration.ofMinutes(1).plusSeconds(1));
        p.cycle();
        Path warn30 = home(id).resolve("WARN_EXPIRES_IN_30MIN.txt");
        assertTrue(Files.readString(warn30).contains("expires in 30 minutes"), Files.readString(warn30));
        Files.delete(warn30);
        p.cycle();
        assertFalse(Files.exists(warn30), "sent once");
        assertEquals(List.of(30), get(id).lifecycle().warningsSent());
        clock.advance(Duration.ofMinutes(15));
        p.cycle();
        assertTrue(Files.exists(home(id).resolve("WARN_EXPIRES_IN_15MIN.txt")));
        extend(id, "1");
        p.cycle();
        assertEquals(List.of(), get(id).lifecycle().warningsSent());
        assertFalse(Files.exists(home(id).resolve("WARN_EXPIRES_IN_15MIN.txt")), "an extension clears the warnings");
        clock.advance(Duration.ofMinutes(46));
        p.cycle();
        assertTrue(Files.exists(home(id).resolve("WARN_EXPIRES_IN_30MIN.txt")), "and they come again before the new end");
    }

    @Test
    void aShortReservationGetsOnlyTheTightestWarning() {
        UUID id = submit(alice, "h100", 1, "0.1"); // 6 minutes: past the 30 and 15 minute marks from the start
        Processor p = processor();
        p.cycle();
        p.cycle();
        assertTrue(Files.exists(home(id).resolve("WARN_EXPIRES_IN_15MIN.txt")));
        assertEquals(List.of(30, 15), get(id).lifecycle().warningsSent().stream().sorted(java.util.Comparator.reverseOrder()).toList());
        assertFalse(Files.exists(home(id).resolve("WARN_EXPIRES_IN_30MIN.txt")));
    }

    @Test
    void waitingReservationsKnowTheirPositionEstimateAndReason() {
        UUID running = submit(alice, "h100", 8, "2");
        UUID waiting = submit(bob, "h100", 4, "1");
        processor().cycle();
        assertEquals(ReservationStatus.ACTIVE, get(running).status());
        Reservation w = get(waiting);
        assertEquals(1, w.queuePosition());
        assertEquals("WAITING_FOR_CAPACITY", w.pendingReason());
        assertEquals(get(running).expiresAt(), w.estimatedStart());
        assertTrue(w.detailedStatus().contains("expected to start"), w.detailedStatus());
    }

    @Test
    void aUserOverTheirLimitWaitsWithThatReason() {
        Processor p = processor(ProcessorSettings.defaults().withLimits(new Scheduler.Limits(4, Map.of())));
        UUID first = submit(alice, "h100", 4, "1");
        UUID second = submit(alice, "h100", 2, "1");
        UUID others = submit(bob, "h100", 2, "1");
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals("USER_GPU_LIMIT", get(second).pendingReason());
        assertEquals(ReservationStatus.ACTIVE, get(others).status(), "one user's limit holds nobody else back");
    }

    @Test
    void reservationsWaitingOver48HoursAreCancelledWithTheReason() {
        UUID id = submit(alice, "a100", 1, "1"); // no a100 here: it can only wait
        Processor p = processor();
        p.cycle();
        assertEquals("NO_CAPACITY_OF_TYPE", get(id).pendingReason());
        clock.advance(Duration.ofHours(48).plusMinutes(1));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(get(id).history().getLast().reason().contains("waited longer than 48 hours"));
    }

    @Test
    void aReservationStuckInPreparingFails() {
        UUID id = submit(alice, "h100", 1, "1");
        db.inTransaction(c -> reservations.transition(c, reservations.lock(c, id).orElseThrow(), ReservationStatus.PREPARING,
                "admitted", clock.instant(), Map.of("node_name", "n0", "gpu_indices", List.of(0))));
        clock.advance(Duration.ofMinutes(16));
        processor().cycle();
        assertEquals(ReservationStatus.FAILED, get(id).status());
        assertTrue(get(id).failureReason().contains("not ready within 15 minutes"), get(id).failureReason());
        assertTrue(backend.environments().isEmpty());
    }

    @Test
    void idleEnvironmentsAreWarnedThenReleasedUnlessOptedOut() throws Exception {
        var idle = new ProcessorSettings.Idle(Duration.ofMinutes(30), Duration.ofMinutes(15), 5, ProcessorSettings.Idle.Action.release);
        Processor p = processor(ProcessorSettings.defaults().withIdle(idle));
        UUID id = submit(alice, "h100", 1, "4");
        UUID optedOut = submit(bob, "h100", 1, "4");
        p.cycle();
        db.inTransaction(c -> {
            reservations.update(c, optedOut, Map.of("idle_opt_out", true));
            return null;
        });
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        assertTrue(Files.readString(home(id).resolve("IDLE_WARNING.txt")).contains("released in 15 minutes"));
        assertNotNull(get(id).lifecycle().idleWarnedAt());
        assertFalse(Files.exists(home(optedOut).resolve("IDLE_WARNING.txt")));
        clock.advance(Duration.ofMinutes(15));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(get(id).history().getLast().reason().contains("idle"), get(id).history().getLast().reason());
        assertEquals(ReservationStatus.ACTIVE, get(optedOut).status());
        assertNull(get(optedOut).lifecycle().idleWarnedAt());
    }

    @Test
    void jupyterCommandsAreAppliedNotDropped() {
        UUID id = submit(alice, "h100", 1, "1");
        Processor p = processor();
        p.cycle();
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.jupyter_enable, id, "alice")));
        p.cycle();
        assertTrue(get(id).lifecycle().jupyter());
        assertTrue(get(id).detailedStatus().contains("jupyter:"), get(id).detailedStatus());
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.jupyter_disable, id, "alice")));
        p.cycle();
        assertFalse(get(id).lifecycle().jupyter());
        assertFalse(get(id).detailedStatus().contains("jupyter"), get(id).detailedStatus());
        assertTrue(get(id).history().stream().anyMatch(h -> h.reason().equals("jupyter enabled by alice")));
    }

    @Test
    void addedUsersAreRecordedOnceAndUnknownOnesRefused() {
        UUID id = submit(alice, "h100", 1, "1");
        Processor p = processor();
        p.cycle();
        for (String name : List.of("bob", "bob", "nobody")) {
            db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.add_user, id, "alice", null, name)));
        }
        p.cycle();
        assertEquals(List.of(bob), db.query(c -> reservations.addedUsers(c, id)));
        assertEquals(1, get(id).history().stream().filter(h -> h.reason().startsWith("user bob added")).count());
        assertTrue(get(id).history().getLast().reason().contains("no user 'nobody'"));
    }

    UUID submitWith(long user, Reservation.Options options) {
        UUID id = submit(user, "h100", 1, "1");
        db.inTransaction(c -> {
            var set = new java.util.HashMap<String, Object>();
            if (options.disk() != null) {
                set.put("disk_name", options.disk());
            }
            set.put("no_persist", options.scratch());
            reservations.update(c, id, set);
            return null;
        });
        return id;
    }

    @Test
    void aNamedDiskOutlivesItsReservationsAndServesOneAtATime() throws Exception {
        var disk = new Reservation.Options("work", false, null, Map.of());
        UUID first = submitWith(alice, disk);
        UUID second = submitWith(alice, disk);
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals("WAITING_FOR_DISK", get(second).pendingReason());
        assertEquals(get(first).expiresAt(), get(second).estimatedStart());
        Path diskDir = dataDir.resolve("disks").resolve("alice").resolve("work");
        Files.writeString(diskDir.resolve("model.pt"), "weights");
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.cancel, first, "alice")));
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(second).status());
        assertEquals("weights", Files.readString(diskDir.resolve("model.pt")), "the disk came along");
        assertTrue(get(second).detailedStatus().contains("home: disk work"), get(second).detailedStatus());
    }

    @Test
    void aDeletedDiskLosesItsFilesButNotWhileInUse() throws Exception {
        UUID id = submitWith(alice, new Reservation.Options("old", false, null, Map.of()));
        Processor p = processor();
        p.cycle();
        Path diskDir = dataDir.resolve("disks").resolve("alice").resolve("old");
        Files.writeString(diskDir.resolve("f"), "x");
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> backend.deleteDisk("alice", "old"),
                "never under a running environment");
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.cancel, id, "alice")));
        p.cycle();
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.delete_disk, null, "alice", null, "old")));
        p.cycle();
        assertFalse(Files.exists(diskDir));
        backend.deleteDisk("alice", "../../etc"); // names that escape the disks directory do nothing
    }

    @Test
    void aScratchHomeIsDeletedAtTheEnd() throws Exception {
        UUID id = submitWith(alice, new Reservation.Options(null, true, null, Map.of()));
        Processor p = processor();
        p.cycle();
        Files.writeString(home(id).resolve("tmp.bin"), "x");
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.cancel, id, "alice")));
        p.cycle();
        assertFalse(Files.exists(home(id)), "scratch home removed");
        UUID kept = submit(alice, "h100", 1, "1");
        p.cycle();
        Files.writeString(home(kept).resolve("keep.txt"), "x");
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(CommandQueue.Type.cancel, kept, "alice")));
        p.cycle();
        assertTrue(Files.exists(home(kept).resolve("keep.txt")), "an ordinary home is kept");
    }

    @Test
    void terminalsOfTheEnvironmentReceiveTheMessage() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/script", "-qfec", "sleep 3", "/dev/null");
        pb.environment().put("GPU_DEV_ENVIRONMENT", "gpudev-term-test");
        Process shell = pb.redirectErrorStream(true).start();
        Thread.sleep(500);
        Terminals.broadcast("gpudev-term-test", "expires in 5 minutes");
        String out = new String(shell.getInputStream().readAllBytes());
        assertTrue(out.contains("*** expires in 5 minutes ***"), out);
    }
}
