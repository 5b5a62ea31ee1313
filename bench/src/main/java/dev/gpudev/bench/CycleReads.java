package dev.gpudev.bench;

import dev.gpudev.backend.spi.InMemoryBackend;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import dev.gpudev.processor.Parts;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * What a processor cycle reads as the queue deepens: N reservations waiting for one full node (embedded
 * PostgreSQL, the in-memory backend, an injected clock), then (a) a cycle with 100 arrivals and nothing
 * else, (b) the minutely replan with 100 arrivals, (c) the ten-minutely re-read. Rows of reservations read
 * and the cycle's time, for each N given ({@code bench/cycle-reads.sh 1000 50000}).
 */
public final class CycleReads {
    public static void main(String[] args) {
        for (String a : args.length == 0 ? new String[]{"1000", "50000"} : args) {
            run(Integer.parseInt(a));
        }
    }

    static void run(int waiting) {
        Database db = TestDatabase.fresh();
        try {
            MutableClock clock = new MutableClock(Instant.parse("2026-06-01T08:00:00Z"));
            Pgmq pgmq = new Pgmq();
            CommandQueue commands = new CommandQueue(pgmq, "reads_q" + ProcessHandle.current().pid() + "_" + waiting);
            commands.ensureQueue(db);
            InMemoryBackend backend = new InMemoryBackend(new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true))));
            Processor processor = new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline()));
            long user = db.inTransaction(c -> new Users().ensure(c, "bench", false).userId());
            Reservations reservations = new Reservations();
            submit(db, commands, reservations, clock, user, 8, "24");
            processor.cycle();
            for (int done = 0; done < waiting; done += 1000) {
                submit(db, commands, reservations, clock, user, Math.min(1000, waiting - done), "1");
                processor.cycle();
            }
            String arrivals = measure(db, commands, reservations, clock, user, processor, Duration.ofSeconds(1));
            String replan = measure(db, commands, reservations, clock, user, processor, Duration.ofSeconds(61));
            String reread = measure(db, commands, reservations, clock, user, processor, Duration.ofMinutes(10));
            System.out.printf(Locale.ROOT, "%,d waiting: arrivals only %s; minutely replan %s; ten-minutely re-read %s%n",
                    waiting, arrivals, replan, reread);
        } finally {
            db.close();
        }
    }

    static String measure(Database db, CommandQueue commands, Reservations reservations, MutableClock clock, long user, Processor processor,
                          Duration later) {
        clock.advance(later);
        submit(db, commands, reservations, clock, user, 100, "1");
        long before = Reservations.rowsRead();
        long t0 = System.nanoTime();
        processor.cycle();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        return String.format(Locale.ROOT, "%,d rows read, %d ms", Reservations.rowsRead() - before, ms);
    }

    static void submit(Database db, CommandQueue commands, Reservations reservations, MutableClock clock, long user, int n, String hours) {
        db.inTransaction(c -> {
            for (int i = 0; i < n; i++) {
                Instant at = clock.instant();
                clock.advance(Duration.ofMillis(1));
                Reservation r = new Reservation(UUID.randomUUID(), user, "bench", ReservationStatus.QUEUED, "h100", 1, new BigDecimal(hours), null,
                        at, null, null, null, null, null, "queued", null, Reservation.Lifecycle.NONE,
                        List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted")));
                commands.submit(c, reservations, r, null);
            }
            return null;
        });
    }
}
