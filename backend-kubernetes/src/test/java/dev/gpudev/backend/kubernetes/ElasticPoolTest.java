package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.NodePools;
import dev.gpudev.core.Command;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The elastic pool end to end: the real processor, the Kubernetes backend on the simulated cluster, and a
 * stand-in for AWS's Auto Scaling API that, like a node group, makes a node when its desired size grows and
 * removes the instance it is told to. A queue on a type at zero gets a node, starts on it, and the node goes
 * after it has been empty ten minutes; nothing flaps.
 */
class ElasticPoolTest {
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ t@t";
    @TempDir
    Path disks;
    SimulatedCluster cluster;
    KubernetesBackend backend;
    AutoScalingStandIn standIn;
    Database db;
    final Pgmq pgmq = new Pgmq();
    CommandQueue commands;
    final Reservations reservations = new Reservations();
    final MutableClock clock = new MutableClock(Instant.now());
    final List<String> actions = new CopyOnWriteArrayList<>();
    final AtomicInteger desired = new AtomicInteger();
    final AtomicInteger made = new AtomicInteger();
    long alice;

    @BeforeEach
    void start() throws Exception {
        cluster = SimulatedCluster.start(disks); // no h100 node: the pool is at zero
        standIn = new AutoScalingStandIn(form -> switch (form.get("Action")) {
            case "DescribeAutoScalingGroups" -> "<DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>"
                    + "asg-h100</AutoScalingGroupName><MinSize>0</MinSize><MaxSize>2</MaxSize><DesiredCapacity>" + desired.get()
                    + "</DesiredCapacity></member></AutoScalingGroups></DescribeAutoScalingGroupsResult>";
            case "SetDesiredCapacity" -> {
                int n = Integer.parseInt(form.get("DesiredCapacity"));
                actions.add("desired=" + n);
                while (desired.get() < n) { // the node group makes the node (the simulated kubelet makes it ready)
                    desired.incrementAndGet();
                    String name = "gpu-h100-" + made.incrementAndGet();
                    cluster.addNode(name, "h100", 8);
                    cluster.client.nodes().withName(name).edit(node -> {
                        node.getSpec().setProviderID("aws:///us-east-1a/i-000" + made.get());
                        return node;
                    });
                }
                desired.set(n);
                yield null;
            }
            case "TerminateInstanceInAutoScalingGroup" -> {
                actions.add("terminate=" + form.get("InstanceId"));
                cluster.client.nodes().list().getItems().stream()
                        .filter(n -> ("aws:///us-east-1a/" + form.get("InstanceId")).equals(n.getSpec().getProviderID()))
                        .forEach(n -> cluster.client.nodes().withName(n.getMetadata().getName()).delete());
                desired.decrementAndGet();
                yield "<TerminateInstanceInAutoScalingGroupResult><Activity><ActivityId>a</ActivityId></Activity>"
                        + "</TerminateInstanceInAutoScalingGroupResult>";
            }
            default -> null;
        });
        var pool = new NodePools.Pool("h100", "asg-h100", 8, 0, 2);
        backend = new KubernetesBackend(cluster.server.createClient(), KubernetesSettings.defaults().withNodePools(List.of(pool)), clock);
        backend.useNodePools(new AwsNodePools(List.of(pool), standIn.client(), cluster.client));
        db = TestDatabase.fresh();
        commands = new CommandQueue(pgmq, "pool_q");
        commands.ensureQueue(db);
        alice = TestDatabase.userWithKey(db, "alice", KEY);
    }

    @AfterEach
    void stop() {
        backend.close();
        standIn.close();
        cluster.close();
        db.close();
    }

    UUID submit(int gpus) {
        UUID id = UUID.randomUUID();
        Instant at = clock.instant();
        db.query(c -> commands.submit(c, reservations, new Reservation(id, alice, "alice", ReservationStatus.QUEUED, "h100", gpus, BigDecimal.ONE,
                null, at, null, null, null, null, null, "queued", null, new Reservation.Lifecycle(List.of(), null, null, false, null, false),
                List.of(new StatusChange(ReservationStatus.QUEUED, at, "submitted"))), null));
        return id;
    }

    Reservation get(UUID id) {
        return db.query(c -> reservations.find(c, id)).orElseThrow();
    }

    /** Cycles (the clock moving by step each time) until done, within 20 s of real time (the cluster's informers). */
    void cycleUntil(Processor p, Duration step, java.util.function.BooleanSupplier done) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(20);
        while (Instant.now().isBefore(deadline)) {
            p.cycle();
            if (done.getAsBoolean()) {
                return;
            }
            clock.advance(step);
            Thread.sleep(20);
        }
        fail("not done; the cloud was asked: " + actions);
    }

    @Test
    void aQueueOnATypeAtZeroGetsANodeStartsOnItAndTheNodeGoesOnceEmptyAWhile() throws Exception {
        Processor p = new Processor(Parts.of(db, pgmq, commands, backend, clock), ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline()));
        p.cycle();
        UUID id = submit(8);
        p.cycle();
        assertEquals(List.of(), actions, "not at once: the demand must last");
        cycleUntil(p, Duration.ofSeconds(5), () -> !actions.isEmpty());
        assertEquals(List.of("desired=1"), actions);
        cycleUntil(p, Duration.ofSeconds(1), () -> get(id).status() == ReservationStatus.ACTIVE);
        assertEquals("gpu-h100-1", get(id).placement().node());
        db.inTransaction(c -> commands.send(c, new Command.Cancel(id, "alice")));
        cycleUntil(p, Duration.ofSeconds(1), () -> get(id).status() == ReservationStatus.CANCELLED);
        clock.advance(Duration.ofMinutes(9));
        p.cycle();
        assertEquals(List.of("desired=1"), actions, "empty nine minutes: it stays");
        cycleUntil(p, Duration.ofSeconds(15), () -> actions.size() > 1);
        assertEquals(List.of("desired=1", "terminate=i-0001"), actions, "that node's instance, and no other call: no flapping");
        cycleUntil(p, Duration.ofSeconds(15), () -> cluster.client.nodes().withName("gpu-h100-1").get() == null);
        for (int i = 0; i < 5; i++) {
            clock.advance(Duration.ofMinutes(1));
            p.cycle();
        }
        assertEquals(2, actions.size(), "nothing waits, nothing more is asked: " + actions);
        assertTrue(desired.get() == 0);
    }
}
