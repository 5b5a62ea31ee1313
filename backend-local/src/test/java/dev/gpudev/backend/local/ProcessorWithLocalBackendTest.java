package dev.gpudev.backend.local;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import dev.gpudev.processor.Backend;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The processor driving the real local backend, step by step, on an injected clock. */
class ProcessorWithLocalBackendTest extends ProcessorTestBase {
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ t@t";

    long userId;

    @BeforeEach
    void setUp() {
        userId = db.inTransaction(c -> {
            long id = new Users().ensure(c, "alice", false).userId();
            new SshKeys().add(c, id, "ssh-ed25519", KEY, dev.gpudev.core.SshPublicKey.parse(KEY).fingerprint(), "t@t");
            return id;
        });
    }

    Processor processor(Backend b, Duration lease) {
        return processor(b, ProcessorSettings.defaults().withPollInterval(Duration.ofMillis(50)).withLease(lease));
    }

    Processor processor() {
        return processor(backend, Duration.ofSeconds(60));
    }

    /** What the API does on submit: the row and its create command in one transaction. */
    UUID submit(int gpus, String hours, int secondsLater) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant().plusSeconds(secondsLater);
        db.inTransaction(c -> {
            reservations.insert(c, new Reservation(id, userId, "alice", ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours),
                    null, at, null, null, null, null, null, "queued", null, null,
                    List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted"))));
            commands.send(c, new CommandQueue.Command(CommandQueue.Type.create, id, "alice"));
            return null;
        });
        return id;
    }

    void send(CommandQueue.Type type, UUID id) {
        db.inTransaction(c -> commands.send(c, new CommandQueue.Command(type, id, "alice")));
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aSubmittedReservationBecomesActiveWithAnSshEndpointAndItsEndTime() {
        UUID id = submit(2, "1.5", 0);
        processor().cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        assertEquals(List.of(0, 1), r.placement().gpus());
        assertNotNull(r.connection());
        assertTrue(listening(r.connection().port()));
        assertEquals(r.launchedAt().plus(Duration.ofMinutes(90)), r.expiresAt(), "fractional hours kept exactly");
        assertEquals(List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE),
                r.history().stream().map(StatusChange::status).toList());
        assertEquals(0, db.query(c -> pgmq.metrics(c, commands.queue())).queueLength(), "command deleted once applied");
    }

    @Test
    void whatDoesNotFitWaitsInOrderAndOnlyHarmlessBackfillJumpsAhead() {
        UUID first = submit(4, "1", 0);
        UUID big = submit(8, "1", 1);
        UUID longSmall = submit(1, "3", 2);
        UUID shortSmall = submit(1, "1", 3);
        processor().cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals(ReservationStatus.QUEUED, get(big).status());
        assertEquals(1, get(big).queuePosition());
        assertEquals("WAITING_FOR_CAPACITY", get(big).pendingReason());
        assertEquals(get(first).expiresAt(), get(big).estimatedStart());
        assertEquals(2, get(longSmall).queuePosition(), "a younger request that would delay the big one waits");
        assertEquals(ReservationStatus.ACTIVE, get(shortSmall).status(), "one that ends before the big one starts goes now");
        send(CommandQueue.Type.cancel, first);
        send(CommandQueue.Type.cancel, shortSmall);
        Processor p = processor();
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(first).status());
        assertEquals(ReservationStatus.ACTIVE, get(big).status());
        assertEquals(ReservationStatus.QUEUED, get(longSmall).status());
    }

    @Test
    void cancelRemovesTheEnvironmentButKeepsTheHome() {
        UUID id = submit(1, "1", 0);
        processor().cycle();
        int port = get(id).connection().port();
        send(CommandQueue.Type.cancel, id);
        processor().cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertFalse(listening(port));
        assertTrue(backend.environments().isEmpty());
        assertTrue(dataDir.resolve("environments").resolve(Reservation.environmentName(id)).resolve("home").toFile().isDirectory());
        send(CommandQueue.Type.cancel, id);
        processor().cycle();
        assertEquals(1, get(id).history().stream().filter(h -> h.status() == ReservationStatus.CANCELLED).count(), "cancel twice is one cancel");
    }

    @Test
    void redeliveredCommandsAndRepeatedCyclesNeverDuplicateAnEnvironment() {
        UUID id = submit(1, "1", 0);
        Processor p = processor();
        for (int i = 0; i < 3; i++) {
            p.cycle();
            send(CommandQueue.Type.create, id);
        }
        p.cycle();
        assertEquals(Set.of(Reservation.environmentName(id)), backend.environments());
        assertEquals(1, get(id).history().stream().filter(h -> h.status() == ReservationStatus.ACTIVE).count());
    }

    @Test
    void aRestartedProcessorBringsActiveEnvironmentsBackOnTheirPorts() {
        UUID id = submit(1, "1", 0);
        processor().cycle();
        int port = get(id).connection().port();
        backend.close(); // the whole server went away
        assertFalse(listening(port));
        backend = newBackend();
        processor().cycle();
        assertTrue(listening(port));
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
    }

    @Test
    void expiredReservationsEndAndTheirEnvironmentsGo() {
        UUID id = submit(1, "0.1", 0);
        Processor p = processor();
        p.cycle();
        int port = get(id).connection().port();
        clock.advance(Duration.ofMinutes(5));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        clock.advance(Duration.ofMinutes(1).plusSeconds(1));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status(), "within the grace period");
        clock.advance(Duration.ofMinutes(1));
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(id).status());
        assertFalse(listening(port));
    }

    @Test
    void twoReplicasAtOnceNeverPlaceTwiceNorLoseAReservation() throws Exception {
        List<UUID> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add(submit(1 + (i % 2), "1", i));
        }
        Processor a = processor();
        Processor b = processor();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            for (int round = 0; round < 5; round++) {
                var fa = pool.submit(a::cycle);
                var fb = pool.submit(b::cycle);
                fa.get();
                fb.get();
                // Some reservations end, so that later ones are admitted by whichever replica comes first.
                for (UUID id : ids) {
                    if (get(id).status() == ReservationStatus.ACTIVE && id.hashCode() % 3 == round % 3) {
                        send(CommandQueue.Type.cancel, id);
                    }
                }
            }
        }
        var live = ids.stream().map(this::get).filter(r -> r.status().holdsGpus()).toList();
        java.util.Set<Integer> gpus = new java.util.HashSet<>();
        for (Reservation r : live) {
            for (int g : r.placement().gpus()) {
                assertTrue(gpus.add(g), "GPU " + g + " placed twice");
            }
        }
        assertTrue(gpus.size() <= 8);
        assertEquals(live.stream().map(Reservation::environmentName).collect(java.util.stream.Collectors.toSet()), backend.environments(),
                "one environment per live reservation, no more");
        assertTrue(ids.stream().map(this::get).allMatch(r -> r.status() != ReservationStatus.FAILED), "nothing failed");
    }

    @Test
    void orphanEnvironmentsAreRemoved() throws Exception {
        backend.ensure(new Backend.EnvironmentSpec(UUID.randomUUID(), "gpudev-orphan", "nobody", List.of(7), List.of(), null, false));
        processor().cycle();
        assertTrue(backend.environments().isEmpty());
    }

    @Test
    void aCommandThatKeepsFailingIsDeadLetteredAndItsReservationFails() {
        UUID id = submit(1, "1", 0);
        // A backend that cannot create anything would fail the reservation directly; here the command itself is poison.
        db.inTransaction(c -> pgmq.send(c, commands.queue(), "{\"type\":\"explode\",\"reservation_id\":\"" + id + "\"}", 0));
        Processor p = processor(backend, Duration.ZERO);
        for (int i = 0; i < 4; i++) {
            p.cycle();
        }
        assertEquals(0, db.query(c -> pgmq.metrics(c, commands.queue())).queueLength());
        long archived = db.query(c -> {
            try (var rs = c.createStatement().executeQuery("select count(*) from pgmq.a_" + commands.queue())) {
                rs.next();
                return rs.getLong(1);
            }
        });
        assertEquals(1, archived);
        assertEquals(ReservationStatus.FAILED, get(id).status());
        assertTrue(get(id).failureReason().contains("internal error"), get(id).failureReason());
    }

    /** Every waiting reservation's queue entry, by id. */
    java.util.Map<UUID, Reservation.Queue> queue() {
        java.util.Map<UUID, Reservation.Queue> out = new java.util.HashMap<>();
        db.query(c -> reservations.withStatus(c, ReservationStatus.QUEUED)).forEach(r -> out.put(r.id(), r.queue()));
        return out;
    }

    @Test
    void newArrivalsArePlannedOnTheKeptPlanExactlyAsAFullPlanWould() {
        Processor p = processor();
        submit(6, "2", 0);
        submit(2, "1", 1);
        p.cycle();
        p.cycle();
        List<UUID> waiting = new java.util.ArrayList<>();
        String[][] first = {{"4", "1"}, {"8", "2"}, {"1", "3"}, {"2", "0.5"}};
        for (int i = 0; i < first.length; i++) {
            waiting.add(submit(Integer.parseInt(first[i][0]), first[i][1], 10 + i));
        }
        p.cycle();
        long fullBefore = p.planCounts()[0];
        long incrementalBefore = p.planCounts()[1];
        String[][] later = {{"1", "1"}, {"8", "1"}, {"3", "2"}, {"1", "0.25"}, {"6", "4"}};
        for (int i = 0; i < later.length; i++) {
            waiting.add(submit(Integer.parseInt(later[i][0]), later[i][1], 20 + i));
        }
        p.cycle();
        assertEquals(fullBefore, p.planCounts()[0], "only new arrivals: the kept plan is extended");
        assertEquals(incrementalBefore + 1, p.planCounts()[1]);
        var incremental = queue();
        assertEquals(Set.copyOf(waiting), incremental.keySet(), "the GPUs are taken: all nine wait");
        incremental.values().forEach(q -> assertNotNull(q.position(), "every arrival was given its place"));

        Processor fresh = processor();
        fresh.cycle();
        assertEquals(List.of(1L, 0L), java.util.Arrays.stream(fresh.planCounts()).boxed().toList());
        assertEquals(incremental, queue(), "positions, reasons and start estimates as a full plan of all of them gives");
    }

    @Test
    void aCancelInTheQueueMakesTheNextCyclePlanEverythingAgain() {
        Processor p = processor();
        submit(8, "1", 0);
        p.cycle();
        UUID a = submit(8, "1", 1);
        UUID b = submit(8, "1", 2);
        UUID c = submit(8, "1", 3);
        p.cycle();
        assertEquals(3, get(c).queuePosition());
        send(CommandQueue.Type.cancel, a);
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(a).status());
        assertEquals(1, get(b).queuePosition(), "those behind the cancelled one move up");
        assertEquals(2, get(c).queuePosition());
        assertEquals(get(b).estimatedStart().plus(Duration.ofHours(1)), get(c).estimatedStart());
        long full = p.planCounts()[0];
        UUID d = submit(8, "1", 4);
        p.cycle();
        assertEquals(full, p.planCounts()[0]);
        assertEquals(3, get(d).queuePosition(), "an arrival after it is placed on the replanned queue");
    }

    @Test
    void aPlanIsNotExtendedAfterAnotherReplicaScheduled() {
        Processor one = processor();
        Processor two = processor();
        submit(8, "1", 0);
        one.cycle();
        submit(8, "1", 1);
        one.cycle();
        one.cycle();
        long full = one.planCounts()[0];
        two.cycle();
        UUID late = submit(8, "1", 2);
        one.cycle();
        assertEquals(full + 1, one.planCounts()[0], "the other replica's cycle may have changed what this one kept");
        assertEquals(2, get(late).queuePosition());
    }

    long diskOperation(String disk, String operation, String argument) {
        return db.inTransaction(c -> {
            var disks = new dev.gpudev.store.Disks();
            long op = disks.requestOperation(c, userId, disk, operation, argument);
            commands.send(c, CommandQueue.Command.diskOperation(op, "alice"));
            return op;
        });
    }

    dev.gpudev.store.Disks.Operation operation(long id) {
        return db.query(c -> new dev.gpudev.store.Disks().operation(c, userId, id)).orElseThrow();
    }

    @Test
    void aDiskIsListedAndRenamedFilesAndAllByTheProcessor() throws Exception {
        db.inTransaction(c -> {
            new dev.gpudev.store.Disks().use(c, userId, "data");
            return null;
        });
        java.nio.file.Path disk = dataDir.resolve("disks").resolve("alice").resolve("data");
        java.nio.file.Files.createDirectories(disk.resolve("models"));
        java.nio.file.Files.writeString(disk.resolve("notes.txt"), "hello");
        java.nio.file.Files.write(disk.resolve("models").resolve("w.bin"), new byte[1234]);

        long list = diskOperation("data", "list_content", null);
        Processor p = processor();
        p.cycle();
        var listed = operation(list);
        assertEquals("done", listed.status(), String.valueOf(listed.error()));
        var result = dev.gpudev.store.Json.MAPPER.readTree(listed.resultJson());
        assertEquals(1239, result.get("total_bytes").asLong());
        List<String> paths = new java.util.ArrayList<>();
        result.get("entries").forEach(e -> paths.add(e.get("path").asText() + (e.get("directory").asBoolean() ? "/" : "")));
        assertEquals(List.of("models/", "notes.txt", "models/w.bin"), paths, "shallowest first");

        long rename = diskOperation("data", "rename", "archive");
        p.cycle();
        assertEquals("done", operation(rename).status(), String.valueOf(operation(rename).error()));
        assertFalse(java.nio.file.Files.exists(disk));
        assertEquals("hello", java.nio.file.Files.readString(dataDir.resolve("disks").resolve("alice").resolve("archive").resolve("notes.txt")));
        assertEquals(List.of("archive"), db.query(c -> new dev.gpudev.store.Disks().forUser(c, userId)).stream()
                .map(dev.gpudev.store.Disks.Disk::name).toList());
    }

    @Test
    void aRenameOfADiskThatAReservationWantsFailsWithTheReasonAndChangesNothing() throws Exception {
        db.inTransaction(c -> {
            new dev.gpudev.store.Disks().use(c, userId, "busy");
            return null;
        });
        UUID r = submit(8, "1", 0);
        db.inTransaction(c -> {
            reservations.update(c, r, java.util.Map.of("disk_name", "busy"));
            return null;
        });
        long rename = diskOperation("busy", "rename", "other");
        processor().cycle();
        var op = operation(rename);
        assertEquals("failed", op.status());
        assertTrue(op.error().contains("used by a live or waiting reservation"), op.error());
        assertEquals(List.of("busy"), db.query(c -> new dev.gpudev.store.Disks().forUser(c, userId)).stream()
                .map(dev.gpudev.store.Disks.Disk::name).toList());
        assertEquals(0, db.query(c -> pgmq.metrics(c, commands.queue())).queueLength(), "a refusal is an outcome, not retried");
    }
}
