package dev.gpudev.processor;

import dev.gpudev.store.Database;
import dev.gpudev.store.ReservationQueue;
import dev.gpudev.store.Reservations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes the waiting reservations' queue fields (position, reason, estimated start) off the processor's
 * loop. These are what {@code gpu-dev show} and the dashboard read, not what the scheduler decides by
 * (admissions and preemptions stay in the pass's transaction), so the loop only hands them over and goes
 * on: under a database saturated by submits a 1,000-row update took seconds, and was the slow cycles.
 *
 * <p>One writer thread, the newest values of each reservation (a later plan replaces what was not yet
 * written), chunks of {@link #CHUNK} rows in their own transactions; a row that is no longer waiting is
 * not touched (the update asks {@code status = 'queued'}). A failed chunk is kept and tried again after a
 * pause, unless newer values came meanwhile. Inline (tests that step the loop): written at once.
 */
final class QueueWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueueWriter.class);
    static final int CHUNK = 1000;

    private final Database db;
    private final Reservations reservations;
    private final boolean inline;
    private final Map<UUID, ReservationQueue.Waiting> pending = new LinkedHashMap<>();
    /** Started with the first rows handed over. */
    private Thread thread;
    private boolean closed;
    private long written;

    QueueWriter(Database db, Reservations reservations, boolean inline) {
        this.db = db;
        this.reservations = reservations;
        this.inline = inline;
    }

    /** Hands these rows over (the newest values of each win); inline, written at once in the pass's transaction. */
    void write(java.sql.Connection pass, List<ReservationQueue.Waiting> rows) throws java.sql.SQLException {
        if (rows.isEmpty()) {
            return;
        }
        if (inline) {
            reservations.queue().setWaiting(pass, rows);
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            if (thread == null) {
                thread = Thread.ofPlatform().name("queue-writer").daemon().start(this::loop);
            }
            for (var w : rows) {
                pending.remove(w.id()); // its place in the order is its newest
                pending.put(w.id(), w);
            }
            notifyAll();
        }
    }

    /** Rows handed over and not yet written. */
    synchronized int backlog() {
        return pending.size();
    }

    /** Rows written so far. */
    synchronized long written() {
        return written;
    }

    private void loop() {
        while (true) {
            List<ReservationQueue.Waiting> chunk = new ArrayList<>(CHUNK);
            synchronized (this) {
                while (pending.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                var it = pending.values().iterator();
                while (it.hasNext() && chunk.size() < CHUNK) {
                    chunk.add(it.next());
                    it.remove();
                }
            }
            try {
                db.query(c -> {
                    reservations.queue().setWaiting(c, chunk);
                    return null;
                });
                synchronized (this) {
                    written += chunk.size();
                }
            } catch (RuntimeException e) {
                log.warn("the queue's positions and estimates could not be written ({} rows; tried again): {}", chunk.size(), e.getMessage());
                synchronized (this) {
                    for (var w : chunk) {
                        pending.putIfAbsent(w.id(), w); // unless newer values came meanwhile
                    }
                    try {
                        wait(1000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            notifyAll();
            t = thread;
        }
        if (t != null) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
