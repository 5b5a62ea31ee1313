package dev.gpudev.processor;

import dev.gpudev.backend.spi.Activity;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.Disks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The processor running on its own thread, as in production, over a backend whose calls about some
 * environments or disks never return: everything else is admitted, activated, cancelled and expired on
 * time, and the hung calls are abandoned at their deadline and said.
 */
class SlowBackendTest extends ProcessorFixture {
    private static final Duration SOON = Duration.ofSeconds(5);
    private final CountDownLatch release = new CountDownLatch(1);
    private Processor running;

    /** The in-memory backend, but the calls named here hang (interrupts ignored) until the test ends. */
    private final class Hanging implements Backend {
        final Set<String> hangEnsure = ConcurrentHashMap.newKeySet();
        final Set<String> hangDestroy = ConcurrentHashMap.newKeySet();
        final Set<String> hangNotify = ConcurrentHashMap.newKeySet();
        volatile boolean hangListing;

        private void hang() {
            while (true) {
                try {
                    release.await();
                    return;
                } catch (InterruptedException ignored) {
                    // like a call stuck in the kernel: an interrupt does not end it
                }
            }
        }

        public Capacity capacity() {
            return backend.capacity();
        }

        public void ensure(EnvironmentSpec spec) throws BackendException {
            if (hangEnsure.contains(spec.name())) {
                hang();
            }
            backend.ensure(spec);
        }

        public Map<String, Observed> observe() {
            return backend.observe();
        }

        public void destroy(String name) {
            if (hangDestroy.contains(name)) {
                hang();
            }
            backend.destroy(name);
        }

        public Map<String, Activity> activity() {
            return backend.activity();
        }

        public void notify(String name, String fileName, String message) {
            if (hangNotify.contains(name)) {
                hang();
            }
            backend.notify(name, fileName, message);
        }

        public void clearNotices(String name, String prefix) {
            backend.clearNotices(name, prefix);
        }

        public void deleteDisk(DiskRef disk) {
            backend.deleteDisk(disk);
        }

        public DiskListing listDisk(DiskRef disk, int limit) {
            if (hangListing) {
                hang();
            }
            return backend.listDisk(disk, limit);
        }

        public String describe() {
            return "hanging";
        }

        public dev.gpudev.core.BackendTraits traits() {
            return backend.traits();
        }
    }

    private final Hanging hanging = new Hanging();

    @Override
    Parts parts() {
        return Parts.of(db, pgmq, commands, hanging, clock);
    }

    /** The processor on its own thread with workers whose deadlines are short. */
    private Processor startProcessor() {
        var settings = ProcessorSettings.defaults().withPollInterval(Duration.ofMillis(200))
                .withWorkers(new ProcessorSettings.Workers(4, Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1),
                        Duration.ofSeconds(1)));
        running = new Processor(parts(), settings);
        running.start();
        return running;
    }

    @AfterEach
    void stop() {
        release.countDown();
        if (running != null) {
            running.close();
        }
    }

    private static <T> T await(String what, Duration within, Supplier<T> probe) {
        long deadline = System.nanoTime() + within.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = probe.get();
            if (last != null && !Boolean.FALSE.equals(last)) {
                return last;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError(what + " did not happen within " + within + " (last: " + last + ")");
    }

    private void awaitStatus(UUID id, ReservationStatus status, Duration within) {
        await(id + " " + status.wire(), within, () -> get(id).status() == status);
    }

    @Test
    void anEnsureThatNeverReturnsHoldsUpNoOneElseAndIsSaidInTheStatus() {
        UUID hung = submit(2, "1");
        hanging.hangEnsure.add(Reservation.environmentName(hung));
        Processor p = startProcessor();
        UUID other = submit(bob, 2, "1", Reservation.Options.NONE);
        awaitStatus(other, ReservationStatus.ACTIVE, SOON);
        assertEquals(ReservationStatus.PREPARING, get(hung).status());
        String detail = await("the hung call said", SOON, () -> {
            String d = get(hung).detailedStatus();
            return d != null && d.contains("did not finish making environment") ? d : null;
        });
        assertTrue(detail.contains("within 1 s"), detail);
        assertTrue(p.backendCalls()[1] >= 1, "abandoned calls are counted");
        // A cancel of another reservation is carried out meanwhile, and an expiry is on time.
        send(new Command.Cancel(other, "bob"));
        awaitStatus(other, ReservationStatus.CANCELLED, SOON);
        UUID shortOne = submit(bob, 1, "1", Reservation.Options.NONE);
        awaitStatus(shortOne, ReservationStatus.ACTIVE, SOON);
        clock.advance(Duration.ofMinutes(62));
        awaitStatus(shortOne, ReservationStatus.EXPIRED, SOON);
        await("its environment removed", SOON, () -> backend.env(Reservation.environmentName(shortOne)) == null);
    }

    @Test
    void removalsAndNoticesThatNeverReturnHoldUpNothing() {
        Processor p = startProcessor();
        UUID a = submit(1, "0.2");
        awaitStatus(a, ReservationStatus.ACTIVE, SOON);
        String envA = Reservation.environmentName(a);
        hanging.hangNotify.add(envA);
        hanging.hangDestroy.add(envA);
        // 12 minutes long: the 15-minute notice is due at once, and never returns.
        clock.advance(Duration.ofSeconds(30));
        await("the warning recorded", SOON, () -> !get(a).lifecycle().warningsSent().isEmpty());
        UUID b = submit(bob, 1, "1", Reservation.Options.NONE);
        awaitStatus(b, ReservationStatus.ACTIVE, SOON);
        // a's end: its removal hangs; b's cancel and a new admission go on regardless.
        clock.advance(Duration.ofMinutes(13));
        awaitStatus(a, ReservationStatus.EXPIRED, SOON);
        send(new Command.Cancel(b, "bob"));
        awaitStatus(b, ReservationStatus.CANCELLED, SOON);
        UUID c = submit(bob, 8, "1", Reservation.Options.NONE);
        // a's environment is still there (its removal hangs), holding nothing the scheduler counts: c runs.
        awaitStatus(c, ReservationStatus.ACTIVE, SOON);
        await("the hung removal abandoned", SOON, () -> p.backendCalls()[1] >= 2);
    }

    @Test
    void aDiskListingThatNeverReturnsFailsItsOperationAndHoldsUpNothing() {
        Processor p = startProcessor();
        hanging.hangListing = true;
        long opId = db.inTransaction(c -> {
            var disks = new Disks();
            disks.use(c, alice, "data");
            var disk = disks.lock(c, alice, "data").orElseThrow();
            long id = disks.requestOperation(c, disk, "list_content", null);
            commands.send(c, new Command.DiskOperation(id, "alice"));
            return id;
        });
        UUID other = submit(bob, 1, "1", Reservation.Options.NONE);
        awaitStatus(other, ReservationStatus.ACTIVE, SOON);
        var op = await("the listing given up", SOON, () -> db.query(c -> new Disks().operation(c, null, opId))
                .filter(o -> !o.status().equals("pending")).orElse(null));
        assertEquals("failed", op.status());
        assertTrue(op.error().contains("did not finish listing disk data"), op.error());
        assertTrue(p.backendCalls()[1] >= 1);
    }
}
