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
import dev.gpudev.store.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real processor driving the local backend on a real database, an injected clock, and a data dir of its own. */
abstract class LocalProcessorFixture {
    private static final AtomicInteger QUEUES = new AtomicInteger();
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ t@t";

    @TempDir
    Path dataDir;
    Database db;
    final Pgmq pgmq = new Pgmq();
    CommandQueue commands;
    final Reservations reservations = new Reservations();
    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T09:00:00Z"));
    LocalBackend backend;
    long alice;

    @BeforeEach
    void start() {
        db = TestDatabase.fresh();
        commands = new CommandQueue(pgmq, "local_q" + QUEUES.incrementAndGet());
        commands.ensureQueue(db);
        backend = newBackend();
        alice = user("alice");
    }

    @AfterEach
    void stop() {
        backend.close();
        db.close();
    }

    LocalBackend newBackend() {
        return new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true))),
                sandbox());
    }

    /** How environments are isolated here: none, unless a test asks for the machine's best. */
    Sandbox sandbox() {
        return new Sandbox.Plain();
    }

    Processor processor() {
        return new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline()));
    }

    UUID submit(int gpus, String hours, Reservation.Options options) {
        return submit(alice, "alice", gpus, hours, options);
    }

    UUID submit(long user, String username, int gpus, String hours, Reservation.Options options) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        clock.advance(Duration.ofMillis(1));
        db.query(c -> {
            Reservation.Options o = options.disk() == null ? options : options.withDiskId(new Disks().use(c, user, options.disk()));
            var r = new Reservation(id, user, username, ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours), null, at, null, null,
                    null, null, null, "queued", null, new Reservation.Lifecycle(List.of(), null, null, false, null, false, o),
                    List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted")));
            return commands.submit(c, reservations, r, null);
        });
        return id;
    }

    void cancel(UUID id) {
        db.inTransaction(c -> commands.send(c, new Command.Cancel(id, "alice")));
    }

    long user(String name) {
        return TestDatabase.userWithKey(db, name, KEY);
    }

    Reservation get(UUID id) {
        return db.query(c -> reservations.find(c, id)).orElseThrow();
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    Path home(UUID id) {
        return dataDir.resolve("environments").resolve(Reservation.environmentName(id)).resolve("home");
    }
}
