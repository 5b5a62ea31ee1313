package dev.gpudev.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The semantics gpudev relies on, checked against whichever pgmq is installed (extension or ours). */
class PgmqConformanceTest {
    static Database db;
    static final Pgmq pgmq = new Pgmq();
    static int n;
    String queue;

    @BeforeAll
    static void start() {
        db = TestDatabase.fresh();
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    @BeforeEach
    void newQueue() {
        queue = "conf_" + (++n);
        db.query(c -> {
            pgmq.create(c, queue);
            return null;
        });
    }

    @Test
    void visibilityTimeoutHidesThenRedelivers() throws Exception {
        long id = db.query(c -> pgmq.send(c, queue, "{\"a\":1}", 0));
        var first = db.query(c -> pgmq.read(c, queue, 1, 10));
        assertEquals(1, first.size());
        assertEquals(id, first.getFirst().msgId());
        assertTrue(db.query(c -> pgmq.read(c, queue, 1, 10)).isEmpty(), "hidden while its lease runs");
        Thread.sleep(1100);
        var again = db.query(c -> pgmq.read(c, queue, 30, 10));
        assertEquals(1, again.size());
        assertEquals(2, again.getFirst().readCt(), "read_ct counts deliveries");
        assertEquals("{\"a\": 1}", again.getFirst().message());
    }

    @Test
    void batchDeleteRemovesExactlyTheNamedMessagesAndReportsWhichExisted() {
        List<Long> ids = db.query(c -> pgmq.sendBatch(c, queue, List.of("{\"i\":1}", "{\"i\":2}", "{\"i\":3}"), 0));
        List<Long> gone = db.query(c -> pgmq.delete(c, queue, List.of(ids.get(0), ids.get(2), 999_999L)));
        assertEquals(Set.of(ids.get(0), ids.get(2)), new HashSet<>(gone), "the missing id is not reported");
        var left = db.query(c -> pgmq.read(c, queue, 30, 10));
        assertEquals(List.of(ids.get(1)), left.stream().map(Pgmq.Message::msgId).toList());
        assertTrue(db.query(c -> pgmq.delete(c, queue, List.<Long>of())).isEmpty());
    }

    @Test
    void delayedSendIsInvisibleUntilDue() throws Exception {
        db.query(c -> pgmq.send(c, queue, "{}", 1));
        assertTrue(db.query(c -> pgmq.read(c, queue, 30, 1)).isEmpty());
        Thread.sleep(1100);
        assertEquals(1, db.query(c -> pgmq.read(c, queue, 30, 1)).size());
    }

    @Test
    void concurrentReadersNeverReceiveTheSameMessage() throws Exception {
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            batch.add("{\"i\":" + i + "}");
        }
        assertEquals(200, db.query(c -> pgmq.sendBatch(c, queue, batch, 0)).size());
        Set<Long> seen = Collections.synchronizedSet(new HashSet<>());
        List<Long> duplicates = Collections.synchronizedList(new ArrayList<>());
        try (var pool = Executors.newFixedThreadPool(6)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                fs.add(pool.submit((Callable<Void>) () -> {
                    while (true) {
                        var got = db.query(c -> pgmq.read(c, queue, 60, 3));
                        if (got.isEmpty()) {
                            return null;
                        }
                        got.forEach(m -> {
                            if (!seen.add(m.msgId())) {
                                duplicates.add(m.msgId());
                            }
                        });
                    }
                }));
            }
            for (var f : fs) {
                f.get();
            }
        }
        assertEquals(200, seen.size());
        assertTrue(duplicates.isEmpty(), "delivered twice: " + duplicates);
    }

    @Test
    void sendInRolledBackTransactionNeverAppears() {
        assertThrows(IllegalStateException.class, () -> db.inTransaction(c -> {
            pgmq.send(c, queue, "{\"ghost\":true}", 0);
            throw new IllegalStateException("abort");
        }));
        assertTrue(db.query(c -> pgmq.read(c, queue, 30, 10)).isEmpty());
        assertEquals(0, db.query(c -> pgmq.metrics(c, queue)).queueLength());
    }

    @Test
    void archiveMovesTheRowToTheArchiveTable() {
        long id = db.query(c -> pgmq.send(c, queue, "{\"k\":\"v\"}", 0));
        assertTrue((boolean) db.query(c -> pgmq.archive(c, queue, id)));
        assertTrue(db.query(c -> pgmq.read(c, queue, 30, 10)).isEmpty());
        String kept = db.query(c -> {
            try (var rs = c.createStatement().executeQuery("select message->>'k' from pgmq.a_" + queue + " where msg_id = " + id)) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
        assertEquals("v", kept);
        assertFalse((boolean) db.query(c -> pgmq.archive(c, queue, id)), "archiving twice finds nothing");
    }

    @Test
    void deletePopSetVtMetricsAndPurge() throws Exception {
        long a = db.query(c -> pgmq.send(c, queue, "{}", 0));
        long b = db.query(c -> pgmq.send(c, queue, "{}", 0));
        db.query(c -> pgmq.send(c, queue, "{}", 0));
        var m = db.query(c -> pgmq.metrics(c, queue));
        assertEquals(3, m.queueLength());
        assertEquals(3, m.totalMessages());
        assertEquals(a, db.query(c -> pgmq.pop(c, queue)).orElseThrow().msgId());
        assertTrue((boolean) db.query(c -> pgmq.delete(c, queue, b)));
        assertFalse((boolean) db.query(c -> pgmq.delete(c, queue, b)));
        var read = db.query(c -> pgmq.read(c, queue, 300, 1)).getFirst();
        db.query(c -> pgmq.setVt(c, queue, read.msgId(), 0));
        assertEquals(read.msgId(), db.query(c -> pgmq.read(c, queue, 300, 1)).getFirst().msgId(), "set_vt 0 makes it visible now");
        assertEquals(1L, (long) db.query(c -> pgmq.purge(c, queue)));
        assertEquals(0, db.query(c -> pgmq.metrics(c, queue)).queueLength());
    }

    @Test
    void badQueueNameIsRefused() {
        assertThrows(StoreException.class, () -> db.query(c -> {
            pgmq.create(c, "x; drop table reservations");
            return null;
        }));
    }
}
