package dev.gpudev.api;

import dev.gpudev.store.AuditLog;
import dev.gpudev.store.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Writes audit entries in groups: each request waits until its entry is committed (nothing is lost
 * to a crash after the answer), but concurrent requests share one transaction, so a busy API commits
 * its audit trail a few times per millisecond instead of once per request.
 */
final class AuditWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditWriter.class);
    private static final int MAX_BATCH = 200;

    private record Pending(AuditLog.Entry entry, CompletableFuture<Void> done) {
    }

    private final Database db;
    private final AuditLog audit;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>(10_000);
    private final Thread writer;
    private volatile boolean running = true;

    AuditWriter(Database db, AuditLog audit) {
        this.db = db;
        this.audit = audit;
        this.writer = Thread.ofPlatform().name("audit-writer").daemon().start(this::loop);
    }

    /** Returns when the entry is committed (or after 5 s, logging the failure). */
    void write(AuditLog.Entry entry) {
        Pending p = new Pending(entry, new CompletableFuture<>());
        try {
            if (!queue.offer(p, 5, TimeUnit.SECONDS)) {
                log.error("audit queue full; entry for {} not written", entry.action());
                return;
            }
            p.done().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.error("could not write the audit log for {}: {}", entry.action(), e.getMessage());
        }
    }

    private void loop() {
        List<Pending> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                db.inTransaction(c -> {
                    for (Pending p : batch) {
                        audit.record(c, p.entry());
                    }
                    return null;
                });
                batch.forEach(p -> p.done().complete(null));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                batch.forEach(p -> p.done().completeExceptionally(e));
            }
            batch.clear();
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
