package dev.gpudev.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Group commit: small units of work that arrive together (submits) run in one transaction and share its
 * commit, the one durable write (WAL flush) that bounds a single-statement transaction's rate. Each caller
 * is answered only after the commit that holds its work ({@code synchronous_commit} as configured: an
 * answered unit survives a crash exactly as its own transaction would).
 *
 * <p>Batching is "natural": a writer takes every unit waiting when it gets to them (at most
 * {@code maxBatch}), so an idle platform adds no delay and a busy one batches more. One unit that fails
 * never fails the others: when any unit or the batch's commit fails with an error of the statement (not of
 * the connection), the batch is rolled back and every unit is run again in a transaction of its own, so
 * each gets its own answer. A connection lost during the commit leaves every unit's outcome unknown, as
 * it would one transaction's: all of them get that error. A unit must therefore only touch the database
 * (it may run twice, the first time rolled back) and must not commit or roll back itself.
 */
public final class GroupCommit implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

    private record Unit<T>(Database.SqlWork<T> work, CompletableFuture<T> answer) {
    }

    private final Database db;
    private final int maxBatch;
    private final long deadlineMillis;
    private final LinkedBlockingQueue<Unit<?>> waiting = new LinkedBlockingQueue<>();
    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean closed;

    /**
     * @param writers  transactions in flight at once (each on a pooled connection while it writes)
     * @param maxBatch the most units in one transaction
     * @param deadlineMillis how long a caller waits for its answer before it is told the database is too slow
     */
    GroupCommit(Database db, int writers, int maxBatch, long deadlineMillis) {
        this.db = db;
        this.maxBatch = maxBatch;
        this.deadlineMillis = deadlineMillis;
        for (int i = 0; i < writers; i++) {
            Thread t = Thread.ofPlatform().daemon().name("gpudev-group-commit-" + i).unstarted(this::write);
            this.writers.add(t);
            t.start();
        }
    }

    /**
     * Runs the work in a transaction it may share with others, and answers after that transaction's
     * commit: its result, or the {@link StoreException} a transaction of its own would have thrown.
     */
    public <T> T run(Database.SqlWork<T> work) {
        if (closed) {
            throw new StoreException("database error: the platform is stopping", null);
        }
        CompletableFuture<T> answer = new CompletableFuture<>();
        waiting.add(new Unit<>(work, answer));
        try {
            return answer.get(deadlineMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new StoreException("database error: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            // It may still be written; the caller is told what a timed-out transaction tells it (an idempotent
            // retry finds it).
            // the database is not answering (a restart, a saturated disk): said as unavailable, like a connection timeout
            throw new StoreException("database error: no commit within " + deadlineMillis + " ms",
                    new java.sql.SQLTransientConnectionException("no commit within " + deadlineMillis + " ms", "08006", e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("database error: interrupted while waiting for the commit", e);
        }
    }

    /** Units waiting for a writer (for tests). */
    int waitingCount() {
        return waiting.size();
    }

    private void write() {
        List<Unit<?>> batch = new ArrayList<>(maxBatch);
        while (!closed) {
            try {
                Unit<?> first = waiting.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                waiting.drainTo(batch, maxBatch - 1);
                writeBatch(batch);
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                // never leaves a caller waiting: whatever is unanswered gets the error
                log.warn("group commit: {}", e.toString());
                for (Unit<?> u : batch) {
                    u.answer().completeExceptionally(e);
                }
            } finally {
                batch.clear();
            }
        }
        for (Unit<?> u; (u = waiting.poll()) != null; ) {
            u.answer().completeExceptionally(new StoreException("database error: the platform is stopping", null));
        }
    }

    private void writeBatch(List<Unit<?>> batch) {
        if (batch.size() == 1) {
            alone(batch.getFirst());
            return;
        }
        List<Object> results;
        try {
            // one transaction (Database's: rolled back when anything in it throws, what broke a connection kept as the error)
            results = db.inTransaction(c -> {
                List<Object> out = new ArrayList<>(batch.size());
                for (Unit<?> u : batch) {
                    out.add(u.work().apply(c));
                }
                return out;
            });
        } catch (StoreException e) {
            if (e.isUnavailable()) {
                // every unit's outcome is unknown, as one transaction's would be: all of them are told the database is away
                for (Unit<?> u : batch) {
                    u.answer().completeExceptionally(e);
                }
                return;
            }
            results = null;
        } catch (RuntimeException oneUnitsOwn) {
            results = null;
        }
        if (results != null) {
            for (int i = 0; i < batch.size(); i++) {
                complete(batch.get(i), results.get(i));
            }
            return;
        }
        StoreException away = null;
        for (Unit<?> u : batch) {
            if (away != null) {
                u.answer().completeExceptionally(away); // the database went away meanwhile: never one by one into it
                continue;
            }
            away = alone(u);
        }
    }

    /** Runs one unit in a transaction of its own; the error when the database went away, else null. */
    private <T> StoreException alone(Unit<T> u) {
        try {
            u.answer().complete(db.inTransaction(u.work()));
            return null;
        } catch (StoreException e) {
            u.answer().completeExceptionally(e);
            return e.isUnavailable() ? e : null;
        } catch (RuntimeException e) {
            u.answer().completeExceptionally(e);
            return null;
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> void complete(Unit<T> u, Object result) {
        u.answer().complete((T) result);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : writers) {
            t.interrupt();
        }
        for (Thread t : writers) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
