package dev.gpudev.backend.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A Kubernetes cluster for tests: fabric8's mock API server in CRUD mode (taught server-side apply,
 * {@link ServerSideApplyDispatcher}), plus a small simulated
 * kubelet (and scheduler, and kube-proxy) that does to the platform's pods what a cluster would, a few
 * times a second (other pods are left as the test makes them):
 * binds them to the node they select, runs them (Ready), or fails them as a cluster would for an image
 * that cannot be pulled ({@code no-such-image}), a container that keeps crashing ({@code crashing}) or
 * one killed for memory ({@code oom}), or leaves them unschedulable when no node fits; it runs disk
 * listing pods for real (the listing script, on a directory per claim) and serves their logs; it gives
 * services a cluster IP. Everything listens on 127.0.0.1 and stops with {@link #close}.
 */
public final class SimulatedCluster implements AutoCloseable {
    public final KubernetesMockServer server;
    /** The test's own view of the cluster (an administrator's client). */
    public final KubernetesClient client;
    private final Path disks;
    private final ScheduledExecutorService kubelet = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "simulated-kubelet");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Integer> ticks = new ConcurrentHashMap<>();
    /** How many kubelet ticks (about 50 ms each) a pod takes to become ready. */
    public volatile int readyAfterTicks = 2;
    /** Routes the test gives a service: its cluster IP and port become these (an sshd of the test's own). */
    private final Map<String, String> routes = new ConcurrentHashMap<>();
    private int nextIp = 10;
    /** Whether disk listing pods run at all (false: they stay Pending, as on a node that never starts them). */
    public volatile boolean listingsRun = true;

    private SimulatedCluster(Path disks) {
        this.disks = disks;
        Map<io.fabric8.mockwebserver.ServerRequest, java.util.Queue<io.fabric8.mockwebserver.ServerResponse>> responses = new HashMap<>();
        server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), responses,
                new ServerSideApplyDispatcher(responses), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        kubelet.scheduleWithFixedDelay(this::tickSafely, 50, 50, TimeUnit.MILLISECONDS);
    }

    /** A cluster whose disks' files live under this directory (one directory per claim). */
    public static SimulatedCluster start(Path disks) {
        return new SimulatedCluster(disks);
    }

    public String url() {
        return client.getMasterUrl().toString();
    }

    /** A kubeconfig for processes of their own (the server's roles in the end-to-end test). */
    public Path kubeconfig(Path file) throws IOException {
        String url = url().endsWith("/") ? url().substring(0, url().length() - 1) : url();
        Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: simulated
                  cluster:
                    server: %s
                contexts:
                - name: simulated
                  context:
                    cluster: simulated
                    user: tester
                current-context: simulated
                users:
                - name: tester
                  user:
                    token: simulated
                """.formatted(url));
        return file;
    }

    /** A Ready GPU node with this many GPUs (and 12 CPUs and 128 GiB per GPU). */
    public Node addNode(String name, String gpuType, int gpus) {
        Node n = new NodeBuilder().withNewMetadata().withName(name).addToLabels("GpuType", gpuType)
                .addToLabels("kubernetes.io/hostname", name).endMetadata()
                .withNewSpec().addNewTaint().withKey("nvidia.com/gpu").withValue("present").withEffect("NoSchedule").endTaint().endSpec()
                .withNewStatus().addNewCondition().withType("Ready").withStatus("True").endCondition()
                .addToAllocatable("nvidia.com/gpu", new Quantity(Integer.toString(gpus)))
                .addToAllocatable("cpu", new Quantity(Integer.toString(12 * gpus)))
                .addToAllocatable("memory", new Quantity((128 * gpus) + "Gi")).endStatus()
                .build();
        return client.nodes().resource(n).create();
    }

    /** Where a disk claim's files are. */
    public Path claimDir(String claim) {
        return disks.resolve(claim);
    }

    /** The service's cluster IP and ssh port become the test's own endpoint (as kube-proxy would route to the pod). */
    public void route(String service, String host, int port) {
        routes.put(service, host + ":" + port);
    }

    /** Every environment's Service to this endpoint (one environment at a time). */
    public void routeAll(String host, int port) {
        routeAll = host + ":" + port;
    }

    private volatile String routeAll;

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            // the cluster closes under it, or a write lost a race with the backend's: the next tick
        }
    }

    private synchronized void tick() {
        for (Service s : client.services().inAnyNamespace().list().getItems()) {
            boolean environment = s.getMetadata().getLabels() != null
                    && "environment".equals(s.getMetadata().getLabels().get(EnvironmentObjects.COMPONENT));
            String route = routes.getOrDefault(s.getMetadata().getName(), environment ? routeAll : null);
            boolean headless = "None".equals(s.getSpec().getClusterIP());
            if (!headless && (s.getSpec().getClusterIP() == null || route != null && !route.startsWith(s.getSpec().getClusterIP() + ":"))) {
                String ip = route != null ? route.substring(0, route.lastIndexOf(':')) : "10.96.0." + (nextIp++ % 250);
                client.services().inNamespace(s.getMetadata().getNamespace()).withName(s.getMetadata().getName()).edit(x -> {
                    x.getSpec().setClusterIP(ip);
                    if (route != null) {
                        int port = Integer.parseInt(route.substring(route.lastIndexOf(':') + 1));
                        x.getSpec().getPorts().stream().filter(p -> "ssh".equals(p.getName())).forEach(p -> p.setPort(port));
                    }
                    return x;
                });
            }
        }
        // One read of the nodes and the pods per tick, however many pods there are.
        Map<String, Node> nodes = new HashMap<>();
        client.nodes().list().getItems().forEach(n -> nodes.put(n.getMetadata().getName(), n));
        List<Pod> all = client.pods().inAnyNamespace().list().getItems();
        Map<String, Integer> used = new HashMap<>();
        for (Pod other : all) {
            if (other.getSpec().getNodeName() != null && !ClusterCapacity.finished(other) && other.getMetadata().getDeletionTimestamp() == null) {
                used.merge(other.getSpec().getNodeName(), ClusterCapacity.gpusAsked(other), Integer::sum);
            }
        }
        for (Pod p : all) {
            // The platform's pods only: others' are the test's to set as it likes.
            if (p.getMetadata().getLabels() == null || !EnvironmentObjects.OURS.equals(p.getMetadata().getLabels().get(EnvironmentObjects.MANAGED_BY))
                    || p.getMetadata().getDeletionTimestamp() != null) {
                continue;
            }
            String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
            if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
                continue;
            }
            int t = ticks.merge(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName(), 1, Integer::sum);
            advance(p, t, nodes, used);
        }
    }

    private void advance(Pod p, int tick, Map<String, Node> nodes, Map<String, Integer> used) {
        String node = p.getSpec().getNodeSelector() == null ? null : p.getSpec().getNodeSelector().get("kubernetes.io/hostname");
        if (node == null) {
            node = nodes.keySet().stream().sorted().findFirst().orElse(null);
        }
        String now = Instant.now().toString();
        boolean nodeExists = node != null && nodes.containsKey(node);
        boolean listing = "disk-listing".equals(p.getMetadata().getLabels() == null ? null
                : p.getMetadata().getLabels().get(EnvironmentObjects.COMPONENT));
        if (listing && !listingsRun) {
            return;
        }
        if (!nodeExists || !fits(p, nodes.get(node), used)) {
            if (p.getStatus() == null || p.getStatus().getConditions() == null || p.getStatus().getConditions().isEmpty()) {
                setStatus(p, new PodStatusBuilder().withPhase("Pending").withConditions(new PodConditionBuilder().withType("PodScheduled")
                        .withStatus("False").withReason("Unschedulable").withLastTransitionTime(now)
                        .withMessage("0/" + nodes.size() + " nodes are available: insufficient nvidia.com/gpu")
                        .build()).build());
            }
            return;
        }
        if (p.getSpec().getNodeName() == null) {
            String bound = node;
            used.merge(bound, ClusterCapacity.gpusAsked(p), Integer::sum);
            client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).edit(x -> {
                x.getSpec().setNodeName(bound);
                return x;
            });
        }
        if (listing) {
            runListing(p);
            return;
        }
        if (BuildPod.COMPONENT.equals(p.getMetadata().getLabels().get(EnvironmentObjects.COMPONENT))) {
            runBuild(p);
            return;
        }
        String image = p.getSpec().getContainers().getFirst().getImage();
        if (image.contains("no-such-image")) {
            String reason = tick < 3 ? "ErrImagePull" : "ImagePullBackOff";
            setStatus(p, pending(now, waiting(reason, "failed to pull and unpack image \"" + image + "\": not found")));
        } else if (image.contains("crashing") && tick >= 2) {
            setStatus(p, running(now, false, new ContainerStatusBuilder().withName("dev").withImage(image).withRestartCount(3)
                    .withNewState().withNewWaiting().withReason("CrashLoopBackOff").withMessage("back-off 40s restarting").endWaiting().endState()
                    .withNewLastState().withNewTerminated().withExitCode(1).withReason("Error").endTerminated().endLastState().build()));
        } else if (image.contains("oom") && tick >= 2) {
            setStatus(p, running(now, false, new ContainerStatusBuilder().withName("dev").withImage(image).withRestartCount(1)
                    .withNewState().withNewRunning().withStartedAt(now).endRunning().endState()
                    .withNewLastState().withNewTerminated().withExitCode(137).withReason("OOMKilled").endTerminated().endLastState().build()));
        } else if (tick < readyAfterTicks) {
            setStatus(p, pending(now, waiting("ContainerCreating", "")));
        } else if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) {
            setStatus(p, running(now, true, new ContainerStatusBuilder().withName("dev").withImage(image).withReady(true).withRestartCount(0)
                    .withNewState().withNewRunning().withStartedAt(now).endRunning().endState().build()));
        }
    }

    /** Whether the node has room for it: its GPUs minus those of the other pods bound there. */
    private static boolean fits(Pod p, Node node, Map<String, Integer> used) {
        if (p.getSpec().getNodeName() != null) {
            return true;
        }
        return ClusterCapacity.gpusAsked(p) <= ClusterCapacity.allocatableGpus(node) - used.getOrDefault(node.getMetadata().getName(), 0);
    }

    private static ContainerStatus waiting(String reason, String message) {
        return new ContainerStatusBuilder().withName("dev").withReady(false).withRestartCount(0)
                .withNewState().withNewWaiting().withReason(reason).withMessage(message).endWaiting().endState().build();
    }

    private static PodStatus pending(String now, ContainerStatus c) {
        return new PodStatusBuilder().withPhase("Pending").withConditions(scheduled(now)).withContainerStatuses(c).build();
    }

    private static PodStatus running(String now, boolean ready, ContainerStatus c) {
        return new PodStatusBuilder().withPhase("Running").withPodIP("10.244.0.7")
                .withConditions(scheduled(now), new PodConditionBuilder().withType("Ready").withStatus(ready ? "True" : "False")
                        .withLastTransitionTime(now).build())
                .withContainerStatuses(c).build();
    }

    private static PodCondition scheduled(String now) {
        return new PodConditionBuilder().withType("PodScheduled").withStatus("True").withLastTransitionTime(now).build();
    }

    private void setStatus(Pod p, PodStatus status) {
        client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).editStatus(x -> {
            x.setStatus(status);
            return x;
        });
    }

    /**
     * A build pod, as its namespace's admission (PodSecurity "baseline": no privileged pod, no host namespaces) and
     * BuildKit would take it: its Dockerfile read from its context's ConfigMap, each step said in BuildKit's plain
     * progress, a {@code RUN false} failing its step; the output is the container's termination message.
     */
    private void runBuild(Pod p) {
        String now = Instant.now().toString();
        var c = p.getSpec().getContainers().getFirst();
        boolean privileged = c.getSecurityContext() != null && Boolean.TRUE.equals(c.getSecurityContext().getPrivileged());
        if (privileged || Boolean.TRUE.equals(p.getSpec().getHostNetwork()) || Boolean.TRUE.equals(p.getSpec().getHostPID())) {
            setStatus(p, new PodStatusBuilder().withPhase("Failed").withMessage("violates PodSecurity \"baseline:latest\"").build());
            return;
        }
        String configMap = p.getSpec().getVolumes().stream().filter(v -> v.getConfigMap() != null).findFirst().orElseThrow()
                .getConfigMap().getName();
        String dockerfile = "";
        try {
            byte[] tgz = java.util.Base64.getDecoder().decode(client.configMaps().inNamespace(p.getMetadata().getNamespace())
                    .withName(configMap).get().getBinaryData().get("context.tar.gz"));
            byte[] tar = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(tgz)).readAllBytes();
            for (int at = 0; at + 512 <= tar.length; ) {
                String name = new String(tar, at, 100, StandardCharsets.US_ASCII).replace("\0", "").replaceFirst("^\\./", "");
                if (name.isEmpty()) {
                    break;
                }
                int size = Integer.parseInt(new String(tar, at + 124, 11, StandardCharsets.US_ASCII).replace("\0", "").trim(), 8);
                if (name.equals("Dockerfile")) {
                    dockerfile = new String(tar, at + 512, size, StandardCharsets.UTF_8);
                }
                at += 512 + (size + 511) / 512 * 512;
            }
        } catch (IOException | RuntimeException e) {
            dockerfile = "";
        }
        List<String> steps = dockerfile.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        StringBuilder log = new StringBuilder("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n");
        boolean failed = steps.isEmpty();
        for (int i = 0; i < steps.size() && !failed; i++) {
            log.append("#").append(i + 2).append(" [").append(i + 1).append("/").append(steps.size()).append("] ").append(steps.get(i)).append("\n");
            if (steps.get(i).matches("(?i)RUN .*\\bfalse\\b.*")) {
                log.append("ERROR: process \"/bin/sh -c ").append(steps.get(i).substring(4)).append("\" did not complete successfully: exit code: 1\n");
                failed = true;
            } else {
                log.append("#").append(i + 2).append(" DONE 0.1s\n");
            }
        }
        if (!failed) {
            log.append("#").append(steps.size() + 2).append(" pushing layers\n#").append(steps.size() + 2).append(" DONE 0.2s\n");
        }
        setStatus(p, new PodStatusBuilder().withPhase(failed ? "Failed" : "Succeeded").withConditions(scheduled(now))
                .withContainerStatuses(new ContainerStatusBuilder().withName(c.getName()).withImage(c.getImage()).withNewState().withNewTerminated()
                        .withExitCode(failed ? 1 : 0).withMessage(log.toString()).endTerminated().endState().build()).build());
    }

    /** Runs the listing script on the claim's directory, as the pod's container would, and serves what it printed as the pod's log. */
    private void runListing(Pod p) {
        var env = new HashMap<String, String>();
        p.getSpec().getContainers().getFirst().getEnv().forEach(e -> env.put(e.getName(), e.getValue()));
        String claim = p.getSpec().getVolumes().getFirst().getPersistentVolumeClaim().getClaimName();
        String log;
        try {
            Path dir = claimDir(claim);
            Files.createDirectories(dir);
            Path tmp = Files.createTempDirectory("gpudev-ls-tmp");
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", DiskListingPod.SCRIPT);
            pb.environment().put("DISK", dir.toString());
            pb.environment().put("LIMIT", env.getOrDefault("LIMIT", "1000"));
            pb.environment().put("TMPDIR", tmp.toString());
            Process proc = pb.redirectErrorStream(true).start();
            log = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            proc.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            log = "";
        }
        server.expect().get().withPath("/api/v1/namespaces/" + p.getMetadata().getNamespace() + "/pods/" + p.getMetadata().getName()
                + "/log?pretty=false").andReturn(200, log).once();
        setStatus(p, new PodStatusBuilder().withPhase("Succeeded").withConditions(scheduled(Instant.now().toString())).build());
    }

    /** For tests that need the pods' status now rather than at the next tick. */
    public void settle() {
        tick();
    }

    public List<Pod> pods(String namespace) {
        return client.pods().inNamespace(namespace).list().getItems();
    }

    @Override
    public void close() {
        kubelet.shutdownNow();
        try {
            kubelet.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        client.close();
        try {
            server.destroy();
        } catch (IllegalStateException e) {
            // The mock's own HTTP server (Vert.x) waits at most 10 s for its close to be confirmed, and on a
            // loaded 2-core machine it sometimes is not (seen once in CI: "Unable to close MockWebServer"). The
            // server is closing, listens on 127.0.0.1 only and dies with the test JVM; no test checks its teardown.
            System.err.println("simulated cluster: " + e.getMessage() + " (the mock server's teardown, ignored)");
        }
    }
}
