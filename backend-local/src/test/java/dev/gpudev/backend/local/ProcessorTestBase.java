package dev.gpudev.backend.local;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.processor.Backend;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The processor driving the real local backend on a fresh database, a queue of its own and an
 * injected clock: one 8-GPU h100 node, plain-process sandbox.
 */
abstract class ProcessorTestBase {
    private static final AtomicInteger QUEUES = new AtomicInteger();

    @TempDir
    Path dataDir;
    Database db;
    final Pgmq pgmq = new Pgmq();
    CommandQueue commands;
    final Reservations reservations = new Reservations();
    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T09:00:00Z"));
    LocalBackend backend;

    @BeforeEach
    void startProcessorWorld() {
        db = TestDatabase.fresh();
        commands = new CommandQueue(pgmq, "proc_q" + QUEUES.incrementAndGet());
        commands.ensureQueue(db);
        backend = newBackend();
    }

    @AfterEach
    void stopProcessorWorld() {
        backend.close();
        db.close();
    }

    LocalBackend newBackend() {
        return new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true))),
                new Sandbox.Plain());
    }

    Processor processor(Backend b, ProcessorSettings settings) {
        return new Processor(new Processor.Parts(db, pgmq, commands, reservations, new SshKeys(), new Users(), b, clock), settings);
    }

    Reservation get(UUID id) {
        return db.query(c -> reservations.find(c, id)).orElseThrow();
    }
}
