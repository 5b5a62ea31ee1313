package dev.gpudev.backend.kubernetes;

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
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The real processor driving the Kubernetes backend on a real database and the simulated cluster: a
 * reservation's whole life in pods and services, distributed ones on whole nodes, failures that end
 * reservations, and objects without a live reservation swept away.
 */
class KubernetesBackendWithProcessorTest {
    private static final AtomicInteger QUEUES = new AtomicInteger();
    static final String NS = "gpu-dev";
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ t@t";

    @TempDir
    Path disks;
    SimulatedCluster cluster;
    KubernetesBackend backend;
    Database db;
    final Pgmq pgmq = new Pgmq();
    CommandQueue commands;
    final Reservations reservations = new Reservations();
    final MutableClock clock = new MutableClock(Instant.now());
    long alice;

    @BeforeEach
    void start() {
        cluster = SimulatedCluster.start(disks);
        cluster.addNode("gpu-1", "h100", 8);
        cluster.addNode("gpu-2", "h100", 8);
        backend = new KubernetesBackend(cluster.server.createClient(), KubernetesSettings.defaults(), clock);
        db = TestDatabase.fresh();
        commands = new CommandQueue(pgmq, "k8s_q" + QUEUES.incrementAndGet());
        commands.ensureQueue(db);
        alice = TestDatabase.userWithKey(db, "alice", KEY);
    }

    @AfterEach
    void stop() {
        backend.close();
        cluster.close();
        db.close();
    }

    Processor processor() {
        return new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline()));
    }

    UUID submit(int gpus, String hours, Reservation.Options options, String image) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        clock.advance(Duration.ofMillis(1));
        db.query(c -> {
            Reservation.Options o = options.disk() == null ? options : options.withDiskId(new Disks().use(c, alice, options.disk()));
            o = image == null ? o : new Reservation.Options(o.disk(), o.scratch(), image, o.nodeLabels(), o.distributed(), o.diskId());
            var r = new Reservation(id, alice, "alice", ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours), null, at, null, null,
                    null, null, null, "queued", null, new Reservation.Lifecycle(List.of(), null, null, false, null, false, o),
                    List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted")));
            return commands.submit(c, reservations, r, null);
        });
        return id;
    }

    Reservation get(UUID id) {
        return db.query(c -> reservations.find(c, id)).orElseThrow();
    }

    /** Cycles the processor (the cluster moves on its own) until the reservation is there. */
    Reservation cycleUntil(Processor p, UUID id, Predicate<Reservation> done) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(20);
        while (Instant.now().isBefore(deadline)) {
            p.cycle();
            Reservation r = get(id);
            if (done.test(r)) {
                return r;
            }
            Thread.sleep(50);
        }
        fail("not there: " + get(id));
        return null;
    }

    @Test
    void aReservationLivesItsWholeLifeInPodsAndServicesAndLeavesOnlyItsDisk() throws Exception {
        UUID id = submit(4, "1", new Reservation.Options("work", false, null, Map.of()), null);
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.PREPARING, get(id).status(), "a pod takes a while to be ready");
        String name = Reservation.environmentName(id);
        Pod pod = cluster.client.pods().inNamespace(NS).withName(name).get();
        assertNotNull(pod);
        assertEquals(get(id).placement().node(), pod.getSpec().getNodeSelector().get("kubernetes.io/hostname"), "on the node the scheduler chose");
        Reservation active = cycleUntil(p, id, r -> r.status() == ReservationStatus.ACTIVE);
        assertTrue(active.connection().host().startsWith("10.96."), "the proxy reaches it at its Service: " + active.connection());
        assertEquals(22, active.connection().port());
        var secret = cluster.client.secrets().inNamespace(NS).withName(EnvironmentObjects.keysSecret(name)).get();
        String keys = secret.getData() != null && secret.getData().get("authorized_keys") != null
                ? new String(java.util.Base64.getDecoder().decode(secret.getData().get("authorized_keys")))
                : secret.getStringData().get("authorized_keys");
        assertTrue(keys.contains(KEY), "the owner's registered key lets them in");
        long diskId = active.options().diskId();
        assertNotNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName(EnvironmentObjects.diskClaim(diskId)).get());
        // 30 minutes before the end, the warning reaches the environment.
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        var root = cluster.client.configMaps().inNamespace(NS).withName(name).get();
        assertTrue(root.getData().keySet().stream().anyMatch(k -> k.startsWith("notice.WARN_EXPIRES_IN_30MIN")), root.getData().toString());
        // The end, the grace minute, and it is gone.
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(id).status());
        assertNull(cluster.client.pods().inNamespace(NS).withName(name).get());
        assertNull(cluster.client.services().inNamespace(NS).withName(name).get());
        assertNull(cluster.client.configMaps().inNamespace(NS).withName(name).get());
        assertNotNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName(EnvironmentObjects.diskClaim(diskId)).get(),
                "the disk outlives the reservation");
    }

    @Test
    void aDiskListingWhosePodNeverStartsHoldsUpNoCycle() throws Exception {
        cluster.listingsRun = false; // its pod stays Pending: the listing waits its 2 minutes on a worker
        Processor p = new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults());
        long opId = db.inTransaction(c -> {
            var disks = new Disks();
            disks.use(c, alice, "data");
            var disk = disks.lock(c, alice, "data").orElseThrow();
            long op = disks.requestOperation(c, disk, "list_content", null);
            commands.send(c, new Command.DiskOperation(op, "alice"));
            // used before: its claim is there, so its files are read by a pod
            cluster.client.persistentVolumeClaims().inNamespace(NS).resource(EnvironmentObjects.claim(EnvironmentObjects.diskClaim(disk.id()),
                    KubernetesSettings.defaults(), Map.of(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS))).create();
            return op;
        });
        p.cycle();
        UUID id = submit(2, "1", Reservation.Options.NONE, null);
        long slowest = 0;
        Instant deadline = Instant.now().plusSeconds(30);
        while (get(id).status() != ReservationStatus.ACTIVE) {
            if (Instant.now().isAfter(deadline)) {
                fail("not active: " + get(id));
            }
            long t0 = System.nanoTime();
            p.cycle();
            slowest = Math.max(slowest, (System.nanoTime() - t0) / 1_000_000);
            Thread.sleep(50);
        }
        assertTrue(slowest < 10_000, "a cycle waited on the listing: " + slowest + " ms");
        assertEquals("pending", db.query(c -> new Disks().operation(c, null, opId)).orElseThrow().status(), "the listing still waits");
        assertFalse(cluster.client.pods().inNamespace(NS).withLabel(EnvironmentObjects.COMPONENT, "disk-listing").list().getItems().isEmpty(),
                "its pod was made, and never ran");
    }

    @Test
    void aDistributedReservationTakesWholeNodesThatMeetAtNode0() throws Exception {
        UUID id = submit(16, "2", Reservation.Options.NONE.withDistributed(true), null);
        Processor p = processor();
        Reservation active = cycleUntil(p, id, r -> r.status() == ReservationStatus.ACTIVE);
        assertEquals(2, active.placement().slices().size());
        Pod node0 = cluster.client.pods().inNamespace(NS).withName(Reservation.environmentName(id)).get();
        Pod node1 = cluster.client.pods().inNamespace(NS).withName(active.environmentName(1)).get();
        assertFalse(node0.getSpec().getNodeSelector().equals(node1.getSpec().getNodeSelector()), "one node each");
        String master = node1.getSpec().getContainers().getFirst().getEnv().stream().filter(e -> e.getName().equals("MASTER_ADDR"))
                .findFirst().orElseThrow().getValue();
        assertEquals(Reservation.environmentName(id) + "." + EnvironmentObjects.peers(id) + ".gpu-dev.svc.cluster.local", master);
        assertNotNull(cluster.client.services().inNamespace(NS).withName(EnvironmentObjects.peers(id)).get());
    }

    @Test
    void anImageThatCannotBePulledFailsTheReservationWithTheReason() throws Exception {
        UUID id = submit(1, "1", Reservation.Options.NONE, "example/no-such-image:2");
        Processor p = processor();
        Reservation failed = cycleUntil(p, id, r -> r.status() == ReservationStatus.FAILED);
        assertTrue(failed.failureReason().contains("the image example/no-such-image:2 cannot be pulled"), failed.failureReason());
        p.cycle();
        assertNull(cluster.client.pods().inNamespace(NS).withName(Reservation.environmentName(id)).get(), "its pod is removed");
    }

    @Test
    void objectsWithoutALiveReservationAreSweptAway() throws Exception {
        // Left behind by a reservation the database no longer has live (a crash between two writes, an old install).
        var orphan = new dev.gpudev.backend.spi.EnvironmentSpec(UUID.randomUUID(), "gpudev-orphan", 0,
                new dev.gpudev.backend.spi.EnvironmentSpec.Owner(alice, "alice"), "gpu-1", 1, List.of(KEY), null,
                new dev.gpudev.backend.spi.EnvironmentSpec.Home.Scratch(), null, null);
        backend.ensure(orphan);
        cluster.client.pods().inNamespace(NS).withName("gpudev-orphan").delete(); // and even its pod is gone: only the root says it was there
        Processor p = processor();
        Instant deadline = Instant.now().plusSeconds(15);
        while (Instant.now().isBefore(deadline) && cluster.client.configMaps().inNamespace(NS).withName("gpudev-orphan").get() != null) {
            p.cycle();
            Thread.sleep(50);
        }
        assertNull(cluster.client.configMaps().inNamespace(NS).withName("gpudev-orphan").get());
        assertNull(cluster.client.services().inNamespace(NS).withName("gpudev-orphan").get());
    }

    @Test
    void aPodDeletedBehindOurBackComesBackWhileItsReservationLives() throws Exception {
        UUID id = submit(1, "2", Reservation.Options.NONE, null);
        Processor p = processor();
        cycleUntil(p, id, r -> r.status() == ReservationStatus.ACTIVE);
        String name = Reservation.environmentName(id);
        cluster.client.pods().inNamespace(NS).withName(name).delete();
        Instant deadline = Instant.now().plusSeconds(15);
        Pod back = null;
        while (Instant.now().isBefore(deadline) && (back == null || back.getStatus() == null || !"Running".equals(back.getStatus().getPhase()))) {
            p.cycle();
            Thread.sleep(50);
            back = cluster.client.pods().inNamespace(NS).withName(name).get();
        }
        assertNotNull(back, "made again");
        assertEquals(ReservationStatus.ACTIVE, get(id).status(), "the reservation lives on");
        db.inTransaction(c -> commands.send(c, new Command.Cancel(id, "alice")));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
    }
}
