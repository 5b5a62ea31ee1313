package dev.gpudev.processor;

import dev.gpudev.backend.spi.InMemoryBackend;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The processor on a fresh database, a queue of its own, an injected clock and the in-memory backend
 * (one 8-GPU h100 node): processor behaviour in milliseconds, whatever backend runs it for real.
 */
abstract class ProcessorFixture {
    private static final AtomicInteger QUEUES = new AtomicInteger();

    Database db;
    final Pgmq pgmq = new Pgmq();
    CommandQueue commands;
    final Reservations reservations = new Reservations();
    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T09:00:00Z"));
    InMemoryBackend backend;
    long alice;
    long bob;

    @BeforeEach
    void startWorld() {
        db = TestDatabase.fresh();
        commands = new CommandQueue(pgmq, "proc_q" + QUEUES.incrementAndGet());
        commands.ensureQueue(db);
        backend = new InMemoryBackend(capacity());
        alice = db.inTransaction(c -> new Users().ensure(c, "alice", false).userId());
        bob = db.inTransaction(c -> new Users().ensure(c, "bob", false).userId());
    }

    @AfterEach
    void stopWorld() {
        db.close();
    }

    Capacity capacity() {
        return new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true)));
    }

    Parts parts() {
        return Parts.of(db, pgmq, commands, backend, clock);
    }

    /** Backend calls are made at once on the loop's thread here: tests step the loop cycle by cycle. */
    Processor processor(ProcessorSettings settings) {
        return new Processor(parts(), settings.withWorkers(ProcessorSettings.Workers.inline()));
    }

    Processor processor() {
        return processor(ProcessorSettings.defaults().withLease(Duration.ofSeconds(60)));
    }

    /** What the API does on submit: the row and its create command in one statement. */
    UUID submit(long user, int gpus, String hours, Reservation.Options options) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        clock.advance(Duration.ofMillis(1));
        String name = user == alice ? "alice" : "bob";
        db.query(c -> {
            long diskId = options.disk() == null ? 0 : new dev.gpudev.store.Disks().use(c, user, options.disk());
            var r = new Reservation(id, user, name, ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours), null, at, null, null,
                    null, null, null, "queued", null,
                    new Reservation.Lifecycle(List.of(), null, null, false, null, false, diskId == 0 ? options : options.withDiskId(diskId)),
                    List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted")));
            return commands.submit(c, reservations, r, null);
        });
        return id;
    }

    UUID submit(int gpus, String hours) {
        return submit(alice, gpus, hours, Reservation.Options.NONE);
    }

    void send(Command command) {
        db.inTransaction(c -> commands.send(c, command));
    }

    Reservation get(UUID id) {
        return db.query(c -> reservations.find(c, id)).orElseThrow();
    }

    long queueLength() {
        return db.query(c -> pgmq.metrics(c, commands.queue())).queueLength();
    }
}
