package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.Activity;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Environments as pods on a Kubernetes cluster, through the fabric8 client. An environment is made of
 * {@link Dependents}, one per kind, each applied server-side when what it should be changed and read
 * from an informer (as are the cluster's nodes and every pod that asks for GPUs): an environment that
 * is as it should be costs no request, whatever the number of environments. Objects are named from the
 * environment's name, so a retried ensure never makes a second one, and owned by the environment's
 * root ConfigMap, so deleting the root removes the rest (and {@link #destroy} deletes them as well).
 * Notices are {@link RootNotices}', disks {@link KubernetesDisks}'.
 */
public final class KubernetesBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(KubernetesBackend.class);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Clock clock;
    private final String ns;
    private final Dcgm dcgm;
    private final Map<String, Watched<?>> informers = new LinkedHashMap<>();
    private final Watched<Node> nodes;
    private final Watched<Pod> gpuPods;
    private final Dependents.Root roots;
    private final Dependents.Pods pods;
    private final Dependents.Access services;
    private final Dependents.Keys keys;
    /** What ensure brings in line after the root, in order: the pod last (it mounts the rest). */
    private final List<Dependent<?>> owned;
    private final RootNotices notices;
    private final KubernetesDisks disks;

    public KubernetesBackend(KubernetesClient client, KubernetesSettings settings, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
        this.ns = settings.namespace();
        this.dcgm = settings.dcgmUrl() == null ? null : new Dcgm(settings.dcgmUrl());
        ensureNamespace();
        if (settings.networkPolicy()) {
            ensurePolicy();
        }
        var ours = new Object() {
            <T extends HasMetadata> Watched<T> watched(String what, Class<T> type) {
                return watch(what, () -> client.resources(type).inNamespace(ns).withLabel(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS)
                        .inform());
            }
        };
        Watched<Service> serviceInformer = ours.watched("services", Service.class);
        roots = new Dependents.Root(client, ns, watch("roots", () -> client.configMaps().inNamespace(ns)
                .withLabel(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS).withLabel(EnvironmentObjects.COMPONENT, "environment").inform()));
        pods = new Dependents.Pods(client, settings, ours.watched("pods", Pod.class));
        services = new Dependents.Access(client, ns, serviceInformer);
        keys = new Dependents.Keys(client, ns, ours.watched("secrets", Secret.class));
        owned = List.of(new Dependents.HomeClaim(client, settings, ours.watched("claims", PersistentVolumeClaim.class)), keys, services,
                new Dependents.PeersService(client, ns, serviceInformer),
                new Dependents.PeersPolicy(client, ns, ours.watched("policies", NetworkPolicy.class)), pods);
        nodes = watch("nodes", () -> client.nodes().inform());
        gpuPods = watch("cluster pods", () -> client.pods().inAnyNamespace().inform());
        notices = new RootNotices(client, ns, roots);
        disks = new KubernetesDisks(client, settings, clock, pods::all);
    }

    private <T extends HasMetadata> Watched<T> watch(String what, Supplier<SharedIndexInformer<T>> start) {
        Watched<T> w = new Watched<>(what, start);
        informers.put(what, w);
        return w;
    }

    /** For tests: one informer loses its watch for good. */
    void loseWatch(String what) {
        informers.get(what).lose();
    }

    private void ensureNamespace() {
        try {
            if (client.namespaces().withName(ns).get() == null) {
                client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName(ns)
                        .endMetadata().build()).create();
            }
        } catch (KubernetesClientException e) {
            // Not allowed to look at namespaces (a namespaced role): the namespace is the operator's to make.
            log.debug("namespace {} not checked: {}", ns, e.getMessage());
        }
    }

    /** The namespace's network rule for environments; an operator who manages policies may deny us that (then theirs applies). */
    private void ensurePolicy() {
        var policy = EnvironmentObjects.environmentsPolicy(ns);
        try {
            client.network().v1().networkPolicies().inNamespace(ns).resource(policy).createOr(r -> r.update());
        } catch (KubernetesClientException e) {
            log.warn("could not set the environments' network policy in {} ({}): make sure one keeps tenants off the platform", ns,
                    e.getMessage());
        }
    }

    @Override
    public Capacity capacity() {
        return ClusterCapacity.of(nodes.list(), gpuPods.list(), settings.gpuTypeLabel());
    }

    /** Each kind in line with the spec, root first; an environment already as it should be costs no request (informers, applied hashes). */
    @Override
    public void ensure(EnvironmentSpec spec) throws BackendException {
        Node node = nodes.get(spec.node());
        if (node == null) {
            throw new BackendException("the cluster has no node named " + spec.node(), false);
        }
        try {
            ConfigMap root = roots.reconcile(new Dependent.Ensuring(spec, null, null));
            var ensuring = new Dependent.Ensuring(spec, EnvironmentObjects.ownedBy(root), size(node));
            for (Dependent<?> d : owned) {
                d.reconcile(ensuring);
            }
        } catch (KubernetesClientException e) {
            throw failure("could not make " + spec.name(), e);
        }
    }

    private EnvironmentObjects.NodeSize size(Node node) {
        var alloc = node.getStatus() == null ? null : node.getStatus().getAllocatable();
        if (alloc == null) {
            return null;
        }
        Quantity gpus = alloc.get(ClusterCapacity.GPU);
        Quantity efa = alloc.get(EnvironmentObjects.EFA);
        return new EnvironmentObjects.NodeSize(gpus == null ? 0 : Quantity.getAmountInBytes(gpus).intValue(),
                alloc.getOrDefault("cpu", new Quantity("0")), alloc.getOrDefault("memory", new Quantity("0")),
                efa == null ? 0 : Quantity.getAmountInBytes(efa).intValue());
    }

    /**
     * A Dockerfile build in a rootless BuildKit pod ({@link BuildPod}) of the builds' namespace, followed to its
     * end (off the processor's loop: its workers call this, with a deadline); the pod and its ConfigMap are
     * removed after. The platform's registry is where the image goes ({@code --image-registry}).
     */
    @Override
    public dev.gpudev.backend.spi.ImageBuild.Built build(dev.gpudev.backend.spi.ImageBuild b) throws BackendException {
        if (settings.buildRegistry() == null) {
            throw new BackendException("image builds need a registry the cluster pulls from: the admin sets --image-registry", false);
        }
        if (b.context().length > BuildPod.MAX_CONTEXT) {
            throw new dev.gpudev.backend.spi.ImageBuild.Failed("on Kubernetes a build's context is at most " + BuildPod.MAX_CONTEXT / 1024
                    + " KiB gzip'd (it travels in a ConfigMap): leave out what the image does not need", "");
        }
        String ns = settings.buildNamespace();
        String name = BuildPod.name(b);
        var podApi = client.pods().inNamespace(ns).withName(name);
        var contextApi = client.configMaps().inNamespace(ns).withName(name);
        try {
            if (podApi.get() != null) {
                podApi.withGracePeriod(0).delete();
                podApi.waitUntilCondition(java.util.Objects::isNull, 30, java.util.concurrent.TimeUnit.SECONDS);
            }
            client.resource(BuildPod.context(settings, b)).inNamespace(ns).createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
            boolean insecure = settings.buildRegistry().startsWith("127.") || settings.buildRegistry().startsWith("localhost");
            client.resource(BuildPod.pod(settings, b, insecure)).inNamespace(ns).create();
            Pod done = podApi.waitUntilCondition(p -> p == null || ClusterCapacity.finished(p), BUILD_TIMEOUT.toSeconds(),
                    java.util.concurrent.TimeUnit.SECONDS);
            // the container's end says it (its log's end on an error: FallbackToLogsOnError), else its log is read
            String log = done == null || done.getStatus() == null || done.getStatus().getContainerStatuses() == null ? ""
                    : done.getStatus().getContainerStatuses().stream().filter(c -> c.getState() != null && c.getState().getTerminated() != null)
                    .map(c -> java.util.Objects.toString(c.getState().getTerminated().getMessage(), "")).findFirst().orElse("");
            if (log.isEmpty()) {
                try {
                    log = podApi.inContainer("buildkit").tailingLines(400).getLog();
                } catch (KubernetesClientException noLog) {
                    log = "";
                }
            }
            if (done == null || !"Succeeded".equals(done.getStatus().getPhase())) {
                String why = done == null ? "its pod was removed" : java.util.Objects.toString(done.getStatus().getMessage(), "its pod failed");
                throw new dev.gpudev.backend.spi.ImageBuild.Failed(BuildPod.failedStep(log, why), log);
            }
            return new dev.gpudev.backend.spi.ImageBuild.Built(BuildPod.image(settings, b), log, false);
        } catch (io.fabric8.kubernetes.client.KubernetesClientTimeoutException e) {
            throw new dev.gpudev.backend.spi.ImageBuild.Failed("the build took longer than " + BUILD_TIMEOUT.toMinutes() + " minutes", "");
        } catch (KubernetesClientException e) {
            throw failure("could not build " + b.hash(), e);
        } finally {
            try {
                podApi.withGracePeriod(0).delete();
                contextApi.delete();
            } catch (KubernetesClientException e) {
                log.warn("could not remove build pod {}: {}", name, e.getMessage());
            }
        }
    }

    /** How long a build on the cluster may take. */
    static final java.time.Duration BUILD_TIMEOUT = java.time.Duration.ofMinutes(30);

    static BackendException failure(String what, KubernetesClientException e) {
        int code = e.getCode();
        // Refused for good: the request itself is wrong (an invalid image name, a quota the namespace will never have).
        boolean permanent = code == 400 || code == 422 || code == 403 && e.getMessage() != null && e.getMessage().contains("exceeded quota");
        String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
        return new BackendException(what + ": " + message, !permanent, e);
    }

    private volatile AwsNodePools pools;

    /** Tests: the pools on an Auto Scaling API of their own (a stand-in). */
    void useNodePools(AwsNodePools p) {
        pools = p;
    }

    /** The elastic pools, when configured: the Auto Scaling API, made on first use (its region from AWS_REGION). */
    @Override
    public java.util.Optional<dev.gpudev.backend.spi.NodePools> nodePools() {
        if (settings.nodePools().isEmpty()) {
            return java.util.Optional.empty();
        }
        if (pools == null) {
            synchronized (this) {
                if (pools == null) {
                    pools = new AwsNodePools(settings.nodePools(), software.amazon.awssdk.services.autoscaling.AutoScalingClient.builder()
                            .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create()).build(), client);
                }
            }
        }
        return java.util.Optional.of(pools);
    }

    @Override
    public Map<String, Observed> observe() {
        Instant now = clock.instant();
        Map<String, Observed> out = new LinkedHashMap<>();
        for (Pod p : pods.all()) {
            if (!"environment".equals(label(p, EnvironmentObjects.COMPONENT))) {
                continue;
            }
            String name = p.getMetadata().getName();
            Service svc = services.current(name);
            out.put(name, new Observed(name, reservation(p), rank(p), PodPhases.of(p, svc, ns, now, settings.unschedulableAfter()),
                    PodPhases.runEnd(p)));
        }
        for (ConfigMap root : roots.all()) {
            String name = root.getMetadata().getName();
            if (!out.containsKey(name)) {
                // Its pod was deleted behind our back: made again while the reservation lives, removed with it otherwise.
                out.put(name, new Observed(name, reservation(root), rank(root),
                        new Observed.Phase.Failed("its pod was deleted; making it again", true)));
            }
        }
        return out;
    }

    private static String label(HasMetadata o, String key) {
        return o.getMetadata().getLabels() == null ? null : o.getMetadata().getLabels().get(key);
    }

    private static UUID reservation(HasMetadata o) {
        try {
            return UUID.fromString(Objects.requireNonNull(label(o, EnvironmentObjects.RESERVATION)));
        } catch (RuntimeException e) {
            return new UUID(0, 0);
        }
    }

    private static int rank(HasMetadata o) {
        try {
            return Integer.parseInt(Objects.requireNonNull(label(o, EnvironmentObjects.RANK)));
        } catch (RuntimeException e) {
            return 0;
        }
    }

    @Override
    public void destroy(String name) throws BackendException {
        try {
            ConfigMap root = roots.current(name);
            Pod pod = pods.current(name);
            HasMetadata any = root != null ? root : pod;
            if (root != null && root.getData() != null && root.getData().containsKey("disk")) {
                disks.snapshot(Long.parseLong(root.getData().get("disk")));
            }
            roots.delete(name, null);
            // The garbage collector would remove the rest; deleted here as well, so nothing waits on it.
            pods.delete(name, 10L);
            services.delete(name, null);
            keys.delete(EnvironmentObjects.keysSecret(name), null);
            if (any != null && rank(any) == 0) {
                client.services().inNamespace(ns).withName(EnvironmentObjects.peers(reservation(any))).delete();
                client.network().v1().networkPolicies().inNamespace(ns).withName(EnvironmentObjects.peers(reservation(any))).delete();
            }
            notices.forget(name);
        } catch (KubernetesClientException e) {
            throw failure("could not remove " + name, e);
        }
    }

    @Override
    public Map<String, Activity> activity() {
        Map<String, Integer> busy = dcgm == null ? Map.of() : dcgm.utilization(ns);
        Map<String, Activity> out = new HashMap<>();
        for (Pod p : pods.all()) {
            if ("environment".equals(label(p, EnvironmentObjects.COMPONENT))) {
                // Sessions are the SSH proxy's to count (the processor adds them); GPU use is DCGM's, when configured.
                out.put(p.getMetadata().getName(), new Activity(0, busy.get(p.getMetadata().getName())));
            }
        }
        return out;
    }

    /** Notices live in the root ConfigMap; the environment's agent writes them into the home and onto terminals. */
    @Override
    public void notify(String name, String fileName, String message) throws BackendException {
        try {
            notices.put(name, fileName, message);
        } catch (KubernetesClientException e) {
            throw failure("could not tell " + name, e);
        }
    }

    @Override
    public void clearNotices(String name, String prefix) throws BackendException {
        try {
            notices.clear(name, prefix);
        } catch (KubernetesClientException e) {
            throw failure("could not clear the notices of " + name, e);
        }
    }

    @Override
    public void deleteDisk(DiskRef disk) throws BackendException {
        disks.delete(disk);
    }

    @Override
    public DiskListing listDisk(DiskRef disk, int limit) throws BackendException {
        return disks.list(disk, limit);
    }

    @Override
    public dev.gpudev.core.BackendTraits traits() {
        return KubernetesBackendFactory.traits(settings);
    }

    @Override
    public String describe() {
        return "kubernetes: namespace " + ns + " at " + client.getMasterUrl() + " (pods run as a non-root user, no service-account token)";
    }

    /** Stops the informers and closes the client (the backend owns it). */
    @Override
    public void close() {
        informers.values().forEach(Watched::stop);
        client.close();
    }
}
