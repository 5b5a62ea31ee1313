package dev.gpudev.store;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupCommitTest {
    static Database db;
    static long alice;

    @BeforeAll
    static void setUp() throws Exception {
        db = TestDatabase.fresh();
        alice = db.inTransaction(c -> new Users().ensure(c, "alice", false).userId());
        db.inTransaction(c -> {
            try (var st = c.createStatement()) {
                st.execute("create table gc_probe (k text primary key, tx bigint not null)");
            }
            return null;
        });
    }

    @AfterAll
    static void tearDown() {
        db.close();
    }

    /** Inserts k and answers the transaction it ran in. */
    static Database.SqlWork<Long> probe(String k) {
        return c -> {
            try (var ps = c.prepareStatement("insert into gc_probe values (?, txid_current()) returning tx")) {
                ps.setString(1, k);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        };
    }

    static long count(String prefix) {
        return db.query(c -> {
            try (var ps = c.prepareStatement("select count(*) from gc_probe where k like ?")) {
                ps.setString(1, prefix + "%");
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    /** A writer held by a first unit until {@code n} more wait behind it: those n are then one batch. */
    static List<Future<Long>> behindAHeldWriter(GroupCommit group, ExecutorService pool, List<Database.SqlWork<Long>> works)
            throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Future<Long> first = pool.submit(() -> group.run(c -> {
            held.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return 0L;
        }));
        held.await();
        List<Future<Long>> answers = new ArrayList<>();
        for (var w : works) {
            answers.add(pool.submit(() -> group.run(w)));
        }
        Instant deadline = Instant.now().plusSeconds(10);
        while (group.waitingCount() < works.size()) {
            assertTrue(Instant.now().isBefore(deadline), "the units never queued");
            Thread.sleep(5);
        }
        release.countDown();
        assertEquals(0L, first.get());
        return answers;
    }

    @Test
    void unitsThatArriveTogetherShareOneTransactionAndAreAnsweredAfterItsCommit() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (GroupCommit group = new GroupCommit(db, 1, 64, 10_000)) {
            List<Database.SqlWork<Long>> works = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String k = "together-" + i;
                works.add(c -> {
                    long tx = probe(k).apply(c);
                    // not visible to anyone else until the shared commit
                    try (Connection other = DriverManager.getConnection(TestDatabase.server().jdbcUrl(c.getCatalog()),
                            TestDatabase.server().appUser(), TestDatabase.server().appPassword());
                         var ps = other.prepareStatement("select count(*) from gc_probe where k = ?")) {
                        ps.setString(1, k);
                        try (var rs = ps.executeQuery()) {
                            rs.next();
                            assertEquals(0, rs.getLong(1), "uncommitted inside the batch");
                        }
                    }
                    return tx;
                });
            }
            Set<Long> transactions = new HashSet<>();
            for (Future<Long> answer : behindAHeldWriter(group, pool, works)) {
                transactions.add(answer.get());
            }
            assertEquals(1, transactions.size(), "five submits, one transaction: " + transactions);
            assertEquals(5, count("together-"), "each answered after the commit that holds it");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneFailingUnitNeverFailsTheOthers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (GroupCommit group = new GroupCommit(db, 1, 64, 10_000)) {
            Database.SqlWork<Long> divides = c -> {
                try (var st = c.createStatement(); var rs = st.executeQuery("select 1 / 0")) {
                    rs.next();
                    return rs.getLong(1);
                }
            };
            Database.SqlWork<Long> throwsItself = c -> {
                throw new IllegalStateException("not for the database");
            };
            var answers = behindAHeldWriter(group, pool, List.of(probe("alone-1"), divides, probe("alone-2"), throwsItself, probe("alone-3")));
            Set<Long> transactions = new HashSet<>();
            transactions.add(answers.get(0).get());
            transactions.add(answers.get(2).get());
            transactions.add(answers.get(4).get());
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> answers.get(1).get());
            assertTrue(e.getCause() instanceof StoreException && e.getCause().getMessage().contains("division by zero"), e.getCause().toString());
            var own = assertThrows(java.util.concurrent.ExecutionException.class, () -> answers.get(3).get());
            assertTrue(own.getCause() instanceof IllegalStateException, "a unit's own exception is its caller's: " + own.getCause());
            assertEquals(3, count("alone-"), "the others are all written");
            assertEquals(3, transactions.size(), "each again in a transaction of its own");
            // a key that is taken: the caller learns it, nothing else changes
            var taken = assertThrows(StoreException.class, () -> group.run(probe("alone-1")));
            assertTrue(taken.getMessage().contains("duplicate key"), taken.getMessage());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void everySubmitAnsweredBeforeAKill9OfTheDatabaseIsThereAfterIt(@TempDir Path dir) throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(Path.of(System.getProperty("java.io.tmpdir"), "gpudev-pg-binaries"), dir)) {
            pg.createDatabase("crash");
            try (Database crashing = Database.connect(pg.jdbcUrl("crash"), pg.appUser(), pg.appPassword(), 10).migrate()) {
                long bob = crashing.inTransaction(c -> new Users().ensure(c, "bob", false).userId());
                Reservations reservations = new Reservations();
                CommandQueue commands = new CommandQueue(new Pgmq(), CommandQueue.DEFAULT_QUEUE);
                commands.ensureQueue(crashing);
                Set<UUID> answered = ConcurrentHashMap.newKeySet();
                AtomicBoolean stop = new AtomicBoolean();
                ExecutorService submitters = Executors.newFixedThreadPool(16);
                CountDownLatch enough = new CountDownLatch(300);
                for (int t = 0; t < 16; t++) {
                    submitters.submit(() -> {
                        while (!stop.get()) {
                            Reservation r = queued(bob);
                            try {
                                var outcome = crashing.inGroupCommit(c -> commands.submitted(c, reservations, r, null, null,
                                        new CommandQueue.WaitingGuard(0, 0)));
                                if (outcome == CommandQueue.Submitted.WRITTEN) {
                                    answered.add(r.id());
                                    enough.countDown();
                                }
                            } catch (RuntimeException lostWithTheDatabase) {
                                // not answered: may or may not be there
                            }
                        }
                        return null;
                    });
                }
                assertTrue(enough.await(60, java.util.concurrent.TimeUnit.SECONDS), "300 submits answered");
                // the postmaster and every backend at once, mid-stream
                ProcessHandle postmaster = ProcessHandle.of(pg.pid()).orElseThrow();
                List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
                all.add(postmaster);
                new ProcessBuilder(java.util.stream.Stream.concat(java.util.stream.Stream.of("kill", "-9"),
                        all.stream().map(h -> Long.toString(h.pid()))).toList()).start().waitFor();
                stop.set(true);
                submitters.shutdown();
                assertTrue(submitters.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS));
                Set<UUID> answeredBefore = Set.copyOf(answered);
                assertTrue(answeredBefore.size() >= 300);
                Set<UUID> there = new HashSet<>();
                Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
                while (true) {
                    try (Connection c = DriverManager.getConnection(pg.jdbcUrl("crash"), pg.appUser(), pg.appPassword());
                         var st = c.createStatement();
                         var rs = st.executeQuery("select reservation_id from reservations")) {
                        while (rs.next()) {
                            there.add(rs.getObject(1, UUID.class));
                        }
                        break;
                    } catch (SQLException notYet) {
                        assertTrue(Instant.now().isBefore(deadline), "not back within 30 s: " + notYet.getMessage());
                        Thread.sleep(100);
                    }
                }
                assertTrue(pg.restarts() >= 1 || there.size() > 0);
                Set<UUID> lost = new HashSet<>(answeredBefore);
                lost.removeAll(there);
                assertEquals(Set.of(), lost, "every answered submit survives the crash (" + answeredBefore.size() + " answered)");
            }
        }
    }

    static Reservation queued(long userId) {
        Instant now = Instant.now();
        return new Reservation(UUID.randomUUID(), userId, "bob", ReservationStatus.QUEUED, "h100", 1, BigDecimal.ONE, null, now,
                null, null, null, null, null, "queued: waiting for the scheduler", null, Reservation.Lifecycle.NONE,
                List.of(new StatusChange(ReservationStatus.QUEUED, now, "submitted")));
    }
}
