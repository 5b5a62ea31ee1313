package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import dev.gpudev.store.MutableClock;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The Kubernetes backend against the simulated cluster: the objects it makes, the cluster it reads, and each way a pod fails. */
class KubernetesBackendTest {
    static final String NS = "gpu-dev";
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ a@t";

    @TempDir
    Path disks;
    SimulatedCluster cluster;
    KubernetesBackend backend;
    final MutableClock clock = new MutableClock(Instant.now());

    @BeforeEach
    void start() {
        cluster = SimulatedCluster.start(disks);
        cluster.addNode("gpu-1", "h100", 8);
        backend = backend(KubernetesSettings.defaults().withUnschedulableAfter(Duration.ofMinutes(10)));
    }

    KubernetesBackend backend(KubernetesSettings settings) {
        return new KubernetesBackend(cluster.server.createClient(), settings, clock);
    }

    @AfterEach
    void stop() {
        backend.close();
        cluster.close();
    }

    static EnvironmentSpec spec(String name, int gpus, EnvironmentSpec.Home home, String image) {
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-1", gpus,
                List.of(KEY), null, home, image, null);
    }

    Observed.Phase until(String name, Predicate<Observed.Phase> done) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(30); // a poll: on an idle machine it returns in milliseconds
        Observed.Phase last = null;
        while (Instant.now().isBefore(deadline)) {
            Observed o = backend.observe().get(name);
            last = o == null ? null : o.phase();
            if (last != null && done.test(last)) {
                return last;
            }
            Thread.sleep(30);
        }
        fail(name + " never got there; last " + last);
        return null;
    }

    /** Ensured again until it is ready, as the processor's reconciler does (level-triggered), within 30 s. */
    void ensuredUntilReady(EnvironmentSpec s) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(deadline)) {
            backend.ensure(s);
            Instant round = Instant.now().plusSeconds(2);
            while (Instant.now().isBefore(round)) {
                Observed o = backend.observe().get(s.name());
                if (o != null && o.phase() instanceof Observed.Phase.Ready) {
                    return;
                }
                Thread.sleep(30);
            }
        }
        fail(s.name() + " never came back");
    }

    static void eventually(String what, java.util.function.BooleanSupplier ok) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(30);
        while (Instant.now().isBefore(deadline)) {
            if (ok.getAsBoolean()) {
                return;
            }
            Thread.sleep(30);
        }
        fail(what);
    }

    static void assertSame(String expected, Quantity actual) {
        assertEquals(0, Quantity.getAmountInBytes(new Quantity(expected)).compareTo(Quantity.getAmountInBytes(actual)),
                expected + " vs " + actual);
    }

    Pod pod(String name) {
        return cluster.client.pods().inNamespace(NS).withName(name).get();
    }

    @Test
    void capacityIsTheReadySchedulableGpuNodesLessWhatOthersPodsAskFor() throws Exception {
        cluster.client.nodes().resource(new NodeBuilder(cluster.addNode("gpu-cordoned", "a100", 4)).editSpec().withUnschedulable(true).endSpec()
                .build()).update();
        var notReady = cluster.addNode("gpu-down", "h100", 8);
        notReady.getStatus().getConditions().getFirst().setStatus("False");
        cluster.client.nodes().resource(notReady).updateStatus();
        cluster.client.nodes().resource(new NodeBuilder(cluster.addNode("gpu-dedicated", "h100", 8)).editSpec().addNewTaint()
                .withKey("dedicated").withValue("infra").withEffect("NoSchedule").endTaint().endSpec().build()).update();
        cluster.client.nodes().resource(new NodeBuilder().withNewMetadata().withName("cpu-only").endMetadata().withNewStatus()
                .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build()).create();
        // Someone else's training pod holds 3 GPUs of gpu-1; a finished one holds none.
        cluster.client.pods().inNamespace("research").resource(foreignPod("theirs", 3)).create();
        Pod done = cluster.client.pods().inNamespace("research").resource(foreignPod("finished", 4)).create();
        done.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Succeeded").build());
        cluster.client.pods().inNamespace("research").resource(done).updateStatus();
        backend.ensure(spec("gpudev-cap", 2, new EnvironmentSpec.Home.Scratch(), null));
        eventually("the cluster's changes reach the capacity: " + backend.capacity(), () -> {
            Capacity c = backend.capacity();
            return c.nodes().size() == 1 && c.nodes().getFirst().gpus().size() == 5;
        });
        Capacity c = backend.capacity();
        assertEquals("gpu-1", c.nodes().getFirst().name());
        assertEquals("h100", c.nodes().getFirst().gpuType());
        assertFalse(c.nodes().getFirst().simulated());
        // A node joining is seen within seconds.
        cluster.addNode("gpu-2", "a100", 4);
        eventually("a new node is offered", () -> backend.capacity().nodes().stream().anyMatch(n -> n.name().equals("gpu-2")
                && n.gpuType().equals("a100") && n.gpus().size() == 4));
        cluster.client.nodes().withName("gpu-2").delete();
        eventually("a node that left is not", () -> backend.capacity().nodes().stream().noneMatch(n -> n.name().equals("gpu-2")));
    }

    private static Pod foreignPod(String name, int gpus) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("research").endMetadata().withNewSpec().withNodeName("gpu-1")
                .addNewContainer().withName("train").withImage("pytorch").withNewResources()
                .addToLimits("nvidia.com/gpu", new Quantity(Integer.toString(gpus))).endResources().endContainer().endSpec().build();
    }

    @Test
    void thePodRunsWhereTheSchedulerChoseWithItsGpusItsShareAndNoWayToTheClusterApi() throws Exception {
        var s = spec("gpudev-shape", 2, new EnvironmentSpec.Home.Own(), null);
        backend.ensure(s);
        Pod p = pod(s.name());
        assertEquals(Map.of("kubernetes.io/hostname", "gpu-1"), p.getSpec().getNodeSelector());
        assertTrue(p.getSpec().getTolerations().stream().anyMatch(t -> t.getKey().equals("nvidia.com/gpu") && t.getOperator().equals("Exists")));
        Container c = p.getSpec().getContainers().getFirst();
        assertEquals(KubernetesSettings.DEFAULT_IMAGE, c.getImage());
        assertEquals(new Quantity("2"), c.getResources().getLimits().get("nvidia.com/gpu"));
        // A quarter of the node (2 of 8 GPUs): 24 of 96 CPUs and 256 of 1024 GiB; requests 90% of that.
        assertSame("24", c.getResources().getLimits().get("cpu"));
        assertSame("256Gi", c.getResources().getLimits().get("memory"));
        assertSame("21600m", c.getResources().getRequests().get("cpu"));
        // Users are not trusted with the platform: no token for the API, no root, no way to gain privileges.
        assertEquals(Boolean.FALSE, p.getSpec().getAutomountServiceAccountToken());
        assertEquals(Boolean.TRUE, p.getSpec().getSecurityContext().getRunAsNonRoot());
        assertEquals(1000L, p.getSpec().getSecurityContext().getRunAsUser());
        assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
        assertEquals(Boolean.FALSE, p.getSpec().getEnableServiceLinks());
        Map<String, Volume> volumes = new java.util.HashMap<>();
        p.getSpec().getVolumes().forEach(v -> volumes.put(v.getName(), v));
        // Local disk and memory-backed space are bounded: one tenant cannot fill the node.
        assertSame("50Gi", volumes.get("workspace").getEmptyDir().getSizeLimit());
        assertSame("128Gi", volumes.get("shm").getEmptyDir().getSizeLimit()); // half the memory limit, which it counts in
        assertSame("70Gi", c.getResources().getLimits().get("ephemeral-storage")); // its workspace and its writable layer
        assertEquals(s.name() + "-home", volumes.get("home").getPersistentVolumeClaim().getClaimName());
        assertEquals("Memory", volumes.get("shm").getEmptyDir().getMedium());
        assertNotNull(volumes.get("workspace").getEmptyDir());
        assertEquals(EnvironmentObjects.keysSecret(s.name()), volumes.get("keys").getSecret().getSecretName());
        assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/dev/shm")));
        assertTrue(c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/home/dev")));
        assertEquals(KubernetesSettings.SSHD_PORT, c.getReadinessProbe().getTcpSocket().getPort().getIntVal(), "ready means sshd answers");
        // Owned by the root; labelled with reservation, user and node index.
        var root = cluster.client.configMaps().inNamespace(NS).withName(s.name()).get();
        assertEquals(root.getMetadata().getUid(), p.getMetadata().getOwnerReferences().getFirst().getUid());
        assertEquals(s.reservationId().toString(), p.getMetadata().getLabels().get(EnvironmentObjects.RESERVATION));
        assertEquals("7", p.getMetadata().getLabels().get(EnvironmentObjects.USER));
        assertEquals("0", p.getMetadata().getLabels().get(EnvironmentObjects.RANK));
        Service svc = cluster.client.services().inNamespace(NS).withName(s.name()).get();
        assertEquals(root.getMetadata().getUid(), svc.getMetadata().getOwnerReferences().getFirst().getUid());
        assertEquals(22, svc.getSpec().getPorts().getFirst().getPort());
        assertEquals(Map.of(EnvironmentObjects.ENVIRONMENT, s.name()), svc.getSpec().getSelector());
        assertNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName(s.name() + "-home").get().getMetadata()
                .getOwnerReferences().stream().findAny().orElse(null), "a home outlives its environment");
        // Ready: the proxy reaches it through its Service.
        var ready = assertInstanceOf(Observed.Phase.Ready.class, until(s.name(), ph -> ph instanceof Observed.Phase.Ready));
        eventually("the service has its cluster IP", () -> cluster.client.services().inNamespace(NS).withName(s.name()).get()
                .getSpec().getClusterIP() != null);
        ready = assertInstanceOf(Observed.Phase.Ready.class, until(s.name(), ph -> ph instanceof Observed.Phase.Ready r && r.sshHost().startsWith("10.")));
        assertEquals(22, ready.sshPort());
    }

    @Test
    void environmentsAreReachedOnlyFromTheProxyAndReachNeitherTheClusterNorTheCloudsMetadata() {
        var policy = cluster.client.network().v1().networkPolicies().inNamespace(NS).withName("gpudev-environments").get();
        assertEquals(Map.of(EnvironmentObjects.MANAGED_BY, "gpudev", EnvironmentObjects.COMPONENT, "environment"),
                policy.getSpec().getPodSelector().getMatchLabels());
        assertEquals(List.of("Ingress", "Egress"), policy.getSpec().getPolicyTypes());
        var in = policy.getSpec().getIngress();
        assertEquals(1, in.size());
        assertEquals(EnvironmentObjects.PROXY_PODS, in.getFirst().getFrom().getFirst().getPodSelector().getMatchLabels(), "only the proxy");
        assertEquals(KubernetesSettings.SSHD_PORT, in.getFirst().getPorts().getFirst().getPort().getIntVal(), "and only to sshd");
        var out = policy.getSpec().getEgress();
        var internet = out.stream().flatMap(e -> e.getTo().stream()).filter(t -> t.getIpBlock() != null).findFirst().orElseThrow().getIpBlock();
        assertEquals("0.0.0.0/0", internet.getCidr());
        assertTrue(internet.getExcept().containsAll(List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")),
                "no private addresses (the database, the API, other pods), no metadata endpoint: " + internet.getExcept());
        var dns = out.stream().filter(e -> e.getPorts() != null && e.getPorts().stream().anyMatch(p -> p.getPort().getIntVal() == 53))
                .findFirst().orElseThrow(() -> new AssertionError("names still resolve"));
        assertEquals(Map.of("k8s-app", "kube-dns"), dns.getTo().getFirst().getPodSelector().getMatchLabels(),
                "port 53 only to the cluster's DNS (no tunnelling out through any resolver)");
        assertEquals(Map.of("kubernetes.io/metadata.name", "kube-system"), dns.getTo().getFirst().getNamespaceSelector().getMatchLabels());
    }

    @Test
    void aRetriedEnsureMakesNothingTwiceAndScratchAndDiskHomesAreWhatTheySay() throws Exception {
        var scratch = spec("gpudev-scratch", 1, new EnvironmentSpec.Home.Scratch(), null);
        backend.ensure(scratch);
        backend.ensure(scratch);
        backend.ensure(scratch);
        assertEquals(1, cluster.client.pods().inNamespace(NS).withLabel(EnvironmentObjects.ENVIRONMENT, scratch.name()).list().getItems().size());
        assertEquals(1, cluster.client.services().inNamespace(NS).withLabel(EnvironmentObjects.ENVIRONMENT, scratch.name()).list().getItems().size());
        assertNotNull(pod(scratch.name()).getSpec().getVolumes().stream().filter(v -> v.getName().equals("home")).findFirst().orElseThrow()
                .getEmptyDir(), "a scratch home is an emptyDir");
        var onDisk = spec("gpudev-ondisk", 1, new EnvironmentSpec.Home.Disk(new DiskRef(77, 7, "alice", "data")), null);
        backend.ensure(onDisk);
        assertEquals("gpudev-disk-77", pod(onDisk.name()).getSpec().getVolumes().getFirst().getPersistentVolumeClaim().getClaimName());
        assertNotNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName("gpudev-disk-77").get());
    }

    @Test
    void anImageThatCannotBePulledFailsForGoodInWordsTheUserUnderstands() throws Exception {
        backend.ensure(spec("gpudev-badimage", 1, new EnvironmentSpec.Home.Scratch(), "registry.example/no-such-image:1"));
        var failed = assertInstanceOf(Observed.Phase.Failed.class, until("gpudev-badimage", ph -> ph instanceof Observed.Phase.Failed));
        assertFalse(failed.isTransient());
        assertTrue(failed.reason().contains("the image registry.example/no-such-image:1 cannot be pulled"), failed.reason());
    }

    @Test
    void aContainerThatKeepsCrashingOrRunsOutOfMemoryFailsForGood() throws Exception {
        backend.ensure(spec("gpudev-crash", 1, new EnvironmentSpec.Home.Scratch(), "example/crashing"));
        backend.ensure(spec("gpudev-oom", 1, new EnvironmentSpec.Home.Scratch(), "example/oom"));
        var crash = assertInstanceOf(Observed.Phase.Failed.class, until("gpudev-crash", ph -> ph instanceof Observed.Phase.Failed));
        assertTrue(crash.reason().contains("keeps crashing") && crash.reason().contains("exit code 1"), crash.reason());
        var oom = assertInstanceOf(Observed.Phase.Failed.class, until("gpudev-oom", ph -> ph instanceof Observed.Phase.Failed));
        assertTrue(oom.reason().contains("ran out of memory"), oom.reason());
        assertFalse(crash.isTransient() || oom.isTransient());
    }

    @Test
    void aPodNoNodeCanTakeWaitsThenFailsAfterTheTimeout() throws Exception {
        // The scheduler chose gpu-1, but meanwhile someone else took all of its GPUs.
        cluster.client.pods().inNamespace("research").resource(foreignPod("everything", 8)).create();
        backend.ensure(spec("gpudev-nowhere", 2, new EnvironmentSpec.Home.Scratch(), null));
        var waiting = assertInstanceOf(Observed.Phase.Starting.class, until("gpudev-nowhere",
                ph -> ph instanceof Observed.Phase.Starting st && st.detail().startsWith("waiting for a node")));
        assertTrue(waiting.detail().contains("insufficient nvidia.com/gpu"), waiting.detail());
        clock.advance(Duration.ofMinutes(11));
        var failed = assertInstanceOf(Observed.Phase.Failed.class, until("gpudev-nowhere", ph -> ph instanceof Observed.Phase.Failed));
        assertTrue(failed.reason().startsWith("no node could take it within 10 minutes"), failed.reason());
        assertFalse(failed.isTransient());
    }

    @Test
    void aNodeTheClusterDoesNotHaveIsRefusedForGoodAndApiErrorsAreTriedAgain() throws Exception {
        var s = spec("gpudev-where", 1, new EnvironmentSpec.Home.Scratch(), null);
        var nowhere = new EnvironmentSpec(s.reservationId(), s.name(), 0, s.owner(), "gpu-gone", 1, s.authorizedKeys(), null, s.home(), null, null);
        assertFalse(assertThrows(BackendException.class, () -> backend.ensure(nowhere)).isTransient());
        // The client itself tries a server error again a few times; here it gives up at once.
        backend.close();
        backend = new KubernetesBackend(cluster.server.createClient(b -> b.editOrNewConfig().withRequestRetryBackoffLimit(0).endConfig()),
                KubernetesSettings.defaults(), clock);
        cluster.server.expect().post().withPath("/api/v1/namespaces/gpu-dev/pods").andReturn(500, "{\"kind\":\"Status\",\"code\":500,"
                + "\"message\":\"etcdserver: request timed out\"}").once();
        var e = assertThrows(BackendException.class, () -> backend.ensure(s));
        assertTrue(e.isTransient(), "a server error is tried again: " + e.getMessage());
        backend.ensure(s); // and the next try works
        assertNotNull(pod(s.name()));
        cluster.server.expect().post().withPath("/api/v1/namespaces/gpu-dev/pods").andReturn(422, "{\"kind\":\"Status\",\"code\":422,"
                + "\"message\":\"Pod is invalid: spec.containers[0].image: Invalid value\"}").once();
        var invalid = spec("gpudev-invalid", 1, new EnvironmentSpec.Home.Scratch(), null);
        var refused = assertThrows(BackendException.class, () -> backend.ensure(invalid));
        assertFalse(refused.isTransient(), "an invalid request will never work: " + refused.getMessage());
        assertTrue(refused.getMessage().contains("Invalid value"), refused.getMessage());
    }

    @Test
    void aPodDeletedBehindOurBackOrEvictedIsMadeAgain() throws Exception {
        var s = spec("gpudev-gone", 1, new EnvironmentSpec.Home.Scratch(), null);
        backend.ensure(s);
        until(s.name(), ph -> ph instanceof Observed.Phase.Ready);
        cluster.client.pods().inNamespace(NS).withName(s.name()).delete();
        var gone = assertInstanceOf(Observed.Phase.Failed.class, until(s.name(), ph -> ph instanceof Observed.Phase.Failed));
        assertTrue(gone.isTransient() && gone.reason().contains("deleted"), gone.reason());
        ensuredUntilReady(s);
        Pod p = pod(s.name());
        p.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Failed").withReason("Evicted")
                .withMessage("The node was low on resource: memory.").build());
        cluster.client.pods().inNamespace(NS).resource(p).updateStatus();
        var evicted = assertInstanceOf(Observed.Phase.Failed.class, until(s.name(), ph -> ph instanceof Observed.Phase.Failed));
        assertTrue(evicted.isTransient() && evicted.reason().contains("evicted"), evicted.reason());
        backend.ensure(s); // the stopped pod goes
        eventually("the evicted pod is removed", () -> pod(s.name()) == null);
        ensuredUntilReady(s); // and comes back
    }

    @Test
    void anInformerThatLosesItsWatchCatchesUp() throws Exception {
        var s = spec("gpudev-watch", 1, new EnvironmentSpec.Home.Scratch(), null);
        backend.ensure(s);
        until(s.name(), ph -> ph instanceof Observed.Phase.Ready);
        backend.loseWatch("pods");
        backend.loseWatch("roots");
        // Meanwhile the environment is removed by someone else.
        cluster.client.configMaps().inNamespace(NS).withName(s.name()).delete();
        cluster.client.pods().inNamespace(NS).withName(s.name()).delete();
        eventually("the backend sees what happened while it was not watching", () -> !backend.observe().containsKey(s.name()));
        backend.ensure(s);
        until(s.name(), ph -> ph instanceof Observed.Phase.Ready);
    }

    @Test
    void jupyterOpensItsPortOnTheServiceAndItsTokenLivesInTheSecret() throws Exception {
        var plain = spec("gpudev-jup", 1, new EnvironmentSpec.Home.Scratch(), null);
        var with = new EnvironmentSpec(plain.reservationId(), plain.name(), 0, plain.owner(), plain.node(), 1, plain.authorizedKeys(),
                new EnvironmentSpec.Jupyter(8888, "tok123"), plain.home(), null, null);
        backend.ensure(with);
        Service svc = cluster.client.services().inNamespace(NS).withName(plain.name()).get();
        assertTrue(svc.getSpec().getPorts().stream().anyMatch(p -> p.getName().equals("jupyter") && p.getPort() == 8888));
        var secret = cluster.client.secrets().inNamespace(NS).withName(EnvironmentObjects.keysSecret(plain.name())).get();
        assertTrue(decoded(secret).get("jupyter-token").equals("tok123"));
        assertEquals("8888", cluster.client.configMaps().inNamespace(NS).withName(plain.name()).get().getData().get("jupyter-port"));
        backend.ensure(plain);
        svc = cluster.client.services().inNamespace(NS).withName(plain.name()).get();
        assertEquals(List.of("ssh"), svc.getSpec().getPorts().stream().map(io.fabric8.kubernetes.api.model.ServicePort::getName).toList());
        secret = cluster.client.secrets().inNamespace(NS).withName(EnvironmentObjects.keysSecret(plain.name())).get();
        assertFalse(decoded(secret).containsKey("jupyter-token"), "the token goes with it");
    }

    @Test
    void noticesOutliveTheRootsApplyAndAreClearedEvenBeforeTheInformerHasThem() throws Exception {
        var plain = spec("gpudev-notes", 1, new EnvironmentSpec.Home.Scratch(), null);
        backend.ensure(plain);
        backend.notify(plain.name(), "WARN_EXPIRES_IN_30MIN.txt", "30 minutes left");
        backend.clearNotices(plain.name(), "WARN_"); // at once: the informer may not have the notice yet
        assertNull(cluster.client.configMaps().inNamespace(NS).withName(plain.name()).get().getData().get("notice.WARN_EXPIRES_IN_30MIN.txt"));
        backend.notify(plain.name(), "WARN_EXPIRES_IN_15MIN.txt", "15 minutes left");
        var with = new EnvironmentSpec(plain.reservationId(), plain.name(), 0, plain.owner(), plain.node(), 1, plain.authorizedKeys(),
                new EnvironmentSpec.Jupyter(8888, "tok"), plain.home(), null, null);
        backend.ensure(with); // the root is applied again (Jupyter's port): the notice is another manager's field and stays
        var data = cluster.client.configMaps().inNamespace(NS).withName(plain.name()).get().getData();
        assertEquals("8888", data.get("jupyter-port"));
        assertEquals("15 minutes left", data.get("notice.WARN_EXPIRES_IN_15MIN.txt"));
        backend.notify("gpudev-nobody", "WARN_EXPIRES_IN_5MIN.txt", "no one is home"); // no root: nothing to tell, no error
    }

    private static Map<String, String> decoded(io.fabric8.kubernetes.api.model.Secret s) {
        Map<String, String> out = new java.util.HashMap<>();
        if (s.getData() != null) {
            s.getData().forEach((k, v) -> out.put(k, new String(java.util.Base64.getDecoder().decode(v), java.nio.charset.StandardCharsets.UTF_8)));
        }
        if (s.getStringData() != null) {
            out.putAll(s.getStringData());
        }
        return out;
    }

    @Test
    void theNodesOfADistributedReservationMeetAtNode0sStableName() throws Exception {
        UUID id = UUID.randomUUID();
        var gang = new dev.gpudev.backend.spi.Gang(List.of("gpudev-dist", "gpudev-dist-n1"));
        var node0 = new EnvironmentSpec(id, "gpudev-dist", 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-1", 8, List.of(KEY), null,
                new EnvironmentSpec.Home.Scratch(), null, gang);
        backend.ensure(node0);
        Service peers = cluster.client.services().inNamespace(NS).withName(EnvironmentObjects.peers(id)).get();
        assertEquals("None", peers.getSpec().getClusterIP());
        assertEquals(Map.of(EnvironmentObjects.RESERVATION, id.toString()), peers.getSpec().getSelector());
        Pod p = pod("gpudev-dist");
        assertEquals("gpudev-dist", p.getSpec().getHostname());
        var peersPolicy = cluster.client.network().v1().networkPolicies().inNamespace(NS).withName(EnvironmentObjects.peers(id)).get();
        assertEquals(Map.of(EnvironmentObjects.RESERVATION, id.toString()), peersPolicy.getSpec().getPodSelector().getMatchLabels());
        assertEquals(Map.of(EnvironmentObjects.RESERVATION, id.toString()),
                peersPolicy.getSpec().getIngress().getFirst().getFrom().getFirst().getPodSelector().getMatchLabels(),
                "its nodes talk to each other, to no one else's");
        assertEquals(peers.getMetadata().getName(), p.getSpec().getSubdomain());
        String master = "gpudev-dist." + peers.getMetadata().getName() + ".gpu-dev.svc.cluster.local";
        var env = p.getSpec().getContainers().getFirst().getEnv();
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("MASTER_ADDR") && e.getValue().equals(master)),
                "node 0's DNS name: hostname.subdomain.namespace: " + env);
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("MASTER_PORT") && e.getValue().equals("29500")));
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("WORLD_SIZE") && e.getValue().equals("2")));
        backend.destroy("gpudev-dist");
        assertNull(cluster.client.services().inNamespace(NS).withName(EnvironmentObjects.peers(id)).get(), "it goes with node 0");
        assertNull(cluster.client.network().v1().networkPolicies().inNamespace(NS).withName(EnvironmentObjects.peers(id)).get());
    }

    @Test
    void podsPullWithTheOperatorsSecrets() throws Exception {
        backend.close();
        backend = backend(KubernetesSettings.defaults().withImagePullSecrets(List.of("gpudev-registry")));
        backend.ensure(spec("gpudev-pull", 1, new EnvironmentSpec.Home.Scratch(), "ghcr.io/acme/private:1"));
        assertEquals("gpudev-registry", pod("gpudev-pull").getSpec().getImagePullSecrets().getFirst().getName());
        backend.destroy("gpudev-pull");
    }

    @Test
    void aReservationsOwnVariablesAreInItsPodBeforeThePlatformsOwn() throws Exception {
        UUID id = UUID.randomUUID();
        var spec = new EnvironmentSpec(id, "gpudev-envy", 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-1", 1, List.of(KEY), null,
                new EnvironmentSpec.Home.Scratch(), null, null, new dev.gpudev.core.EnvVars(Map.of("WANDB_MODE", "offline")));
        backend.ensure(spec);
        var env = pod("gpudev-envy").getSpec().getContainers().getFirst().getEnv();
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("WANDB_MODE") && e.getValue().equals("offline")), env.toString());
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("GPUDEV_RESERVATION")), "the platform's own too");
        backend.destroy("gpudev-envy");
    }

    @Test
    void aBatchRunsPodStartsItsCommandAndItsStatusContainerSaysHowItEnded() throws Exception {
        UUID id = UUID.randomUUID();
        var run = new dev.gpudev.core.BatchRun(List.of("python", "train.py", "--note", "it's fine"), "proj", false);
        var spec = new EnvironmentSpec(id, "gpudev-batch", 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-1", 1, List.of(KEY), null,
                new EnvironmentSpec.Home.Own(), null, null, null, run);
        backend.ensure(spec);
        Pod p = pod("gpudev-batch");
        assertEquals("OnFailure", p.getSpec().getRestartPolicy(), "the status container stays ended; sshd is restarted when it fails");
        var env = p.getSpec().getContainers().getFirst().getEnv();
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("GPUDEV_RUN_COMMAND") && e.getValue().equals("python train.py --note 'it'\\''s fine'")),
                env.toString());
        assertTrue(env.stream().anyMatch(e -> e.getName().equals("GPUDEV_RUN_WORKDIR") && e.getValue().equals("proj")), env.toString());
        var status = p.getSpec().getContainers().get(1);
        assertEquals(EnvironmentObjects.RUN_STATUS, status.getName());
        assertEquals(List.of("/usr/local/bin/gpudev-run", "--report"), status.getCommand());
        assertNull(status.getResources().getLimits().get("nvidia.com/gpu"), "no GPU of its own");
        assertTrue(status.getVolumeMounts().getFirst().getReadOnly(), "it only reads the home");
        assertFalse(status.getSecurityContext().getAllowPrivilegeEscalation());
        assertTrue(p.getSpec().getVolumes().stream().anyMatch(v -> v.getName().equals(EnvironmentObjects.RUN_STATUS) && v.getEmptyDir() != null),
                "the code also in a directory both containers share: a full home loses nothing");
        assertTrue(cluster.client.services().inNamespace(NS).withName("gpudev-batch").get().getSpec().getPublishNotReadyAddresses(),
                "a kept run's pod is reached after its status container ended (the pod is no longer Ready, its sshd is)");
        until("gpudev-batch", ph -> ph instanceof Observed.Phase.Ready);
        assertNull(backend.observe().get("gpudev-batch").runEnd(), "running");
        // the command ended: the status container ends with the code and the log's end; the pod is no longer Ready, sshd is
        cluster.client.pods().inNamespace(NS).withName("gpudev-batch").editStatus(x -> {
            x.getStatus().getConditions().stream().filter(c -> c.getType().equals("Ready")).forEach(c -> c.setStatus("False"));
            x.getStatus().getContainerStatuses().add(new io.fabric8.kubernetes.api.model.ContainerStatusBuilder().withName(EnvironmentObjects.RUN_STATUS)
                    .withReady(false).withNewState().withNewTerminated().withExitCode(0).withReason("Completed")
                    .withMessage("3\nloss 0.41\nTraceback: boom\n").endTerminated().endState().build());
            return x;
        });
        Instant deadline = Instant.now().plusSeconds(30);
        while (backend.observe().get("gpudev-batch").runEnd() == null && Instant.now().isBefore(deadline)) {
            Thread.sleep(20);
        }
        Observed o = backend.observe().get("gpudev-batch");
        assertEquals(new Observed.RunEnd(3, "loss 0.41\nTraceback: boom\n"), o.runEnd());
        assertInstanceOf(Observed.Phase.Ready.class, o.phase(), "still reachable (its home, its log): " + o.phase());
        backend.destroy("gpudev-batch");
    }

    @Test
    void destroyRemovesTheEnvironmentButNotItsHomeAndSnapshotsADiskItReleases() throws Exception {
        cluster.server.expectCustomResource(new CustomResourceDefinitionContext.Builder().withGroup("snapshot.storage.k8s.io").withVersion("v1")
                .withPlural("volumesnapshots").withKind("VolumeSnapshot").withScope("Namespaced").build());
        backend.close();
        backend = backend(KubernetesSettings.defaults().withStorage("gp3", "50Gi", "ebs-snapshots"));
        var s = spec("gpudev-bye", 1, new EnvironmentSpec.Home.Disk(new DiskRef(5, 7, "alice", "work")), null);
        backend.ensure(s);
        until(s.name(), ph -> ph instanceof Observed.Phase.Ready);
        var claim = cluster.client.persistentVolumeClaims().inNamespace(NS).withName("gpudev-disk-5").get();
        assertEquals("gp3", claim.getSpec().getStorageClassName());
        assertEquals(new Quantity("50Gi"), claim.getSpec().getResources().getRequests().get("storage"));
        backend.destroy(s.name());
        assertNull(pod(s.name()));
        assertNull(cluster.client.services().inNamespace(NS).withName(s.name()).get());
        assertNull(cluster.client.secrets().inNamespace(NS).withName(EnvironmentObjects.keysSecret(s.name())).get());
        assertNull(cluster.client.configMaps().inNamespace(NS).withName(s.name()).get());
        assertNotNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName("gpudev-disk-5").get(), "the disk stays");
        List<GenericKubernetesResource> snaps = cluster.client.genericKubernetesResources("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
                .inNamespace(NS).list().getItems();
        assertEquals(1, snaps.size());
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) snaps.getFirst().getAdditionalProperties().get("spec");
        assertEquals("ebs-snapshots", spec.get("volumeSnapshotClassName"));
        assertEquals(Map.of("persistentVolumeClaimName", "gpudev-disk-5"), spec.get("source"));
        backend.deleteDisk(new DiskRef(5, 7, "alice", "work"));
        assertNull(cluster.client.persistentVolumeClaims().inNamespace(NS).withName("gpudev-disk-5").get());
        assertTrue(cluster.client.genericKubernetesResources("snapshot.storage.k8s.io/v1", "VolumeSnapshot").inNamespace(NS).list()
                .getItems().isEmpty(), "a deleted disk's snapshots go too");
    }

    @Test
    void aDiskInUseIsListedOnTheNodeThatMountsIt() throws Exception {
        var s = spec("gpudev-lister", 1, new EnvironmentSpec.Home.Disk(new DiskRef(9, 7, "alice", "d")), null);
        backend.ensure(s);
        until(s.name(), ph -> ph instanceof Observed.Phase.Ready);
        Files.createDirectories(cluster.claimDir("gpudev-disk-9"));
        Files.writeString(cluster.claimDir("gpudev-disk-9").resolve("notes.txt"), "hi");
        cluster.client.pods().inNamespace(NS).watch(new io.fabric8.kubernetes.client.Watcher<Pod>() {
            @Override
            public void eventReceived(Action action, Pod p) {
                if (p.getMetadata().getName().equals("gpudev-ls-9") && action == Action.ADDED) {
                    listedOn = p.getSpec().getNodeSelector();
                }
            }

            @Override
            public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
            }
        });
        var listing = backend.listDisk(new DiskRef(9, 7, "alice", "d"), 100);
        assertEquals(List.of("notes.txt"), listing.entries().stream().map(e -> e.path()).toList());
        assertEquals(2, listing.totalBytes());
        assertEquals(Map.of("kubernetes.io/hostname", "gpu-1"), listedOn, "a ReadWriteOnce claim is read where it is mounted");
        eventually("the listing pod is removed", () -> pod("gpudev-ls-9") == null);
    }

    private volatile Map<String, String> listedOn;

    @Test
    void gpuUtilisationComesFromDcgmWhenConfigured() {
        String metrics = """
                # HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
                DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-1",container="dev",namespace="gpu-dev",pod="gpudev-a"} 80
                DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-2",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-1",container="dev",namespace="gpu-dev",pod="gpudev-a"} 20
                DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-3",device="nvidia2",Hostname="gpu-1",container="",namespace="",pod=""} 99
                DCGM_FI_DEV_GPU_UTIL{gpu="3",UUID="GPU-4",device="nvidia3",Hostname="gpu-1",container="train",namespace="research",pod="gpudev-a"} 7
                DCGM_FI_DEV_MEM_COPY_UTIL{gpu="0",namespace="gpu-dev",pod="gpudev-a"} 3
                """;
        assertEquals(Map.of("gpudev-a", 50), Dcgm.parse(metrics, "gpu-dev"));
    }

    @Test
    void aDistributedReservationsWholeNodeTakesItsEfaInterfacesAndNothingElseDoes() {
        var node = new EnvironmentObjects.NodeSize(8, new Quantity("192"), new Quantity("2048Gi"), 32);
        UUID id = UUID.randomUUID();
        var gang = new dev.gpudev.backend.spi.Gang(List.of("gpudev-w", "gpudev-w-n1"));
        var wide = new EnvironmentSpec(id, "gpudev-w", 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-1", 8, List.of(KEY), null,
                new EnvironmentSpec.Home.Own(), null, gang);
        var limits = EnvironmentObjects.pod(wide, KubernetesSettings.defaults(), node, null).getSpec().getContainers().getFirst().getResources();
        assertEquals(new Quantity("32"), limits.getLimits().get(EnvironmentObjects.EFA));
        assertEquals(new Quantity("32"), limits.getRequests().get(EnvironmentObjects.EFA));
        var one = spec("gpudev-one", 1, new EnvironmentSpec.Home.Own(), null);
        assertNull(EnvironmentObjects.pod(one, KubernetesSettings.defaults(), node, null).getSpec().getContainers().getFirst().getResources()
                .getLimits().get(EnvironmentObjects.EFA), "a share of a node: its EFA interfaces are the node's other tenants' too");
    }

    @Test
    void renderedObjectsAreTheOnesEnsureMakes() throws Exception {
        var s = spec("gpudev-rendered", 2, new EnvironmentSpec.Home.Own(), "example/dev:1");
        var objects = EnvironmentObjects.all(s, KubernetesSettings.defaults(),
                new EnvironmentObjects.NodeSize(8, new Quantity("96"), new Quantity("1024Gi")));
        assertEquals(List.of("ConfigMap", "PersistentVolumeClaim", "Secret", "Service", "Pod"), objects.stream().map(o -> o.getKind()).toList());
        backend.ensure(s);
        Pod made = pod(s.name());
        Pod rendered = (Pod) objects.get(4);
        assertEquals(rendered.getSpec().getContainers(), made.getSpec().getContainers());
        assertEquals(rendered.getSpec().getVolumes(), made.getSpec().getVolumes());
    }
}
