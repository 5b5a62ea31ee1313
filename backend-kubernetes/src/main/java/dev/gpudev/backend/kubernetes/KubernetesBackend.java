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
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Environments as pods on a Kubernetes cluster, through the fabric8 client. What exists is read from
 * informers (pods, services and roots of the namespace, the cluster's nodes and every pod that asks for
 * GPUs), never one call per reservation; what should exist is created once and brought in line
 * (authorized keys, Jupyter, notices) by updates. Objects are named from the environment's name, so a
 * retried ensure never makes a second one, and owned by the environment's root ConfigMap, so deleting
 * the root removes the rest (and {@link #destroy} deletes them by label as well). Disks are
 * {@link KubernetesDisks}'.
 */
public final class KubernetesBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(KubernetesBackend.class);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Clock clock;
    private final String ns;
    private final Dcgm dcgm;
    private final Map<String, Watched<?>> informers = new LinkedHashMap<>();
    private final Watched<Pod> pods;
    private final Watched<Service> services;
    private final Watched<ConfigMap> roots;
    private final Watched<Node> nodes;
    private final Watched<Pod> gpuPods;
    /** Pods and roots just created, until the informers have them: an ensure is observed at once. */
    private final Map<String, Pod> recentPods = new ConcurrentHashMap<>();
    private final Map<String, ConfigMap> recentRoots = new ConcurrentHashMap<>();
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
        pods = watch("pods", () -> client.pods().inNamespace(ns).withLabel(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS).inform());
        services = watch("services", () -> client.services().inNamespace(ns)
                .withLabel(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS).inform());
        roots = watch("roots", () -> client.configMaps().inNamespace(ns).withLabel(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS)
                .withLabel(EnvironmentObjects.COMPONENT, "environment").inform());
        nodes = watch("nodes", () -> client.nodes().inform());
        gpuPods = watch("cluster pods", () -> client.pods().inAnyNamespace().inform());
        disks = new KubernetesDisks(client, settings, clock, pods::list);
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

    private String key(String name) {
        return ns + "/" + name;
    }

    @Override
    public Capacity capacity() {
        return ClusterCapacity.of(nodes.list(), gpuPods.list(), settings.gpuTypeLabel());
    }

    @Override
    public void ensure(EnvironmentSpec spec) throws BackendException {
        Node node = nodes.get(spec.node());
        if (node == null) {
            throw new BackendException("the cluster has no node named " + spec.node(), false);
        }
        try {
            ConfigMap root = ensureRoot(spec);
            OwnerReference owner = EnvironmentObjects.ownedBy(root);
            ensureKeys(spec, owner);
            PersistentVolumeClaim home = EnvironmentObjects.homeClaim(spec, settings);
            if (home != null && client.persistentVolumeClaims().inNamespace(ns).withName(home.getMetadata().getName()).get() == null) {
                createTolerant(home);
            }
            ensureService(EnvironmentObjects.service(spec, ns, owner));
            if (spec.rank() == 0 && spec.distributed()) {
                ensureService(EnvironmentObjects.peersService(spec, ns, owner));
                var peers = EnvironmentObjects.peersPolicy(spec, ns, owner);
                if (client.network().v1().networkPolicies().inNamespace(ns).withName(peers.getMetadata().getName()).get() == null) {
                    createTolerant(peers);
                }
            }
            Pod pod = pods.get(key(spec.name()));
            if (pod == null) {
                pod = recentPods.get(spec.name());
            }
            if (pod != null && ClusterCapacity.finished(pod)) {
                // Stopped for good (evicted): it goes, and the next ensure makes it again.
                client.pods().inNamespace(ns).withName(spec.name()).delete();
                recentPods.remove(spec.name());
                return;
            }
            if (pod == null) {
                Pod created = createTolerant(EnvironmentObjects.pod(spec, settings, size(node), owner));
                recentPods.put(spec.name(), created);
            }
        } catch (KubernetesClientException e) {
            throw failure("could not make " + spec.name(), e);
        }
    }

    private ConfigMap ensureRoot(EnvironmentSpec spec) {
        ConfigMap wanted = EnvironmentObjects.root(spec, ns);
        if (spec.home() instanceof EnvironmentSpec.Home.Disk d) {
            wanted.getData().put("disk", Long.toString(d.disk().id()));
        }
        ConfigMap current = roots.get(key(spec.name()));
        if (current == null) {
            current = recentRoots.get(spec.name());
        }
        if (current == null) {
            current = client.configMaps().inNamespace(ns).withName(spec.name()).get();
        }
        if (current == null) {
            ConfigMap created = createTolerant(wanted);
            recentRoots.put(spec.name(), created);
            return created;
        }
        Map<String, String> have = current.getData() == null ? Map.of() : current.getData();
        Map<String, String> next = new LinkedHashMap<>(wanted.getData());
        have.forEach((k, v) -> {
            if (k.startsWith(EnvironmentObjects.NOTICE_PREFIX)) {
                next.put(k, v); // notices are the sweeper's: kept
            }
        });
        if (!next.equals(have)) {
            current = client.configMaps().inNamespace(ns).withName(spec.name()).edit(cm -> {
                cm.setData(next);
                return cm;
            });
        }
        return current;
    }

    private void ensureKeys(EnvironmentSpec spec, OwnerReference owner) {
        Secret wanted = EnvironmentObjects.keys(spec, ns, owner);
        Secret current = client.secrets().inNamespace(ns).withName(wanted.getMetadata().getName()).get();
        if (current == null) {
            createTolerant(wanted);
            return;
        }
        Map<String, String> have = new HashMap<>();
        if (current.getData() != null) {
            current.getData().forEach((k, v) -> have.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
        }
        if (current.getStringData() != null) {
            have.putAll(current.getStringData());
        }
        if (!have.equals(wanted.getStringData())) {
            client.secrets().inNamespace(ns).withName(wanted.getMetadata().getName()).edit(s -> {
                Map<String, String> data = new LinkedHashMap<>();
                wanted.getStringData().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
                s.setData(data);
                s.setStringData(null);
                return s;
            });
        }
    }

    private void ensureService(Service wanted) {
        Service current = services.get(key(wanted.getMetadata().getName()));
        if (current == null) {
            current = client.services().inNamespace(ns).withName(wanted.getMetadata().getName()).get();
        }
        if (current == null) {
            createTolerant(wanted);
            return;
        }
        var names = current.getSpec().getPorts().stream().map(p -> p.getName() + ":" + p.getPort()).sorted().toList();
        var wantedNames = wanted.getSpec().getPorts().stream().map(p -> p.getName() + ":" + p.getPort()).sorted().toList();
        if (!names.equals(wantedNames)) {
            // Jupyter switched on or off: the port comes or goes; the address stays.
            client.services().inNamespace(ns).withName(wanted.getMetadata().getName()).edit(s -> {
                s.getSpec().setPorts(wanted.getSpec().getPorts());
                return s;
            });
        }
    }

    /** Creates it; someone else having made it first (a retry, another replica) is fine. */
    private <T extends HasMetadata> T createTolerant(T object) {
        try {
            return client.resource(object).inNamespace(ns).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                return client.resource(object).inNamespace(ns).get();
            }
            throw e;
        }
    }

    private EnvironmentObjects.NodeSize size(Node node) {
        var alloc = node.getStatus() == null ? null : node.getStatus().getAllocatable();
        if (alloc == null) {
            return null;
        }
        Quantity gpus = alloc.get(ClusterCapacity.GPU);
        return new EnvironmentObjects.NodeSize(gpus == null ? 0 : Quantity.getAmountInBytes(gpus).intValue(),
                alloc.getOrDefault("cpu", new Quantity("0")), alloc.getOrDefault("memory", new Quantity("0")));
    }

    static BackendException failure(String what, KubernetesClientException e) {
        int code = e.getCode();
        // Refused for good: the request itself is wrong (an invalid image name, a quota the namespace will never have).
        boolean permanent = code == 400 || code == 422 || code == 403 && e.getMessage() != null && e.getMessage().contains("exceeded quota");
        String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
        return new BackendException(what + ": " + message, !permanent, e);
    }

    @Override
    public Map<String, Observed> observe() {
        Instant now = clock.instant();
        Map<String, Observed> out = new LinkedHashMap<>();
        Map<String, Pod> byName = new HashMap<>();
        for (Pod p : pods.list()) {
            if ("environment".equals(label(p, EnvironmentObjects.COMPONENT))) {
                byName.put(p.getMetadata().getName(), p);
                recentPods.remove(p.getMetadata().getName());
            }
        }
        recentPods.forEach(byName::putIfAbsent);
        Map<String, ConfigMap> rootsByName = new HashMap<>();
        for (ConfigMap cm : roots.list()) {
            rootsByName.put(cm.getMetadata().getName(), cm);
            recentRoots.remove(cm.getMetadata().getName());
        }
        recentRoots.forEach(rootsByName::putIfAbsent);
        for (Pod p : byName.values()) {
            String name = p.getMetadata().getName();
            Service svc = services.get(key(name));
            out.put(name, new Observed(name, reservation(p), rank(p), PodPhases.of(p, svc, ns, now, settings.unschedulableAfter())));
        }
        for (ConfigMap root : rootsByName.values()) {
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
            ConfigMap root = roots.get(key(name));
            if (root == null) {
                root = client.configMaps().inNamespace(ns).withName(name).get();
            }
            Pod pod = pods.get(key(name));
            HasMetadata any = root != null ? root : pod;
            if (root != null && root.getData() != null && root.getData().containsKey("disk")) {
                disks.snapshot(Long.parseLong(root.getData().get("disk")));
            }
            client.configMaps().inNamespace(ns).withName(name).delete();
            // The garbage collector would remove the rest; deleted here as well, so nothing waits on it.
            client.pods().inNamespace(ns).withName(name).withGracePeriod(10).delete();
            client.services().inNamespace(ns).withName(name).delete();
            client.secrets().inNamespace(ns).withName(EnvironmentObjects.keysSecret(name)).delete();
            if (any != null && rank(any) == 0) {
                client.services().inNamespace(ns).withName(EnvironmentObjects.peers(reservation(any))).delete();
                client.network().v1().networkPolicies().inNamespace(ns).withName(EnvironmentObjects.peers(reservation(any))).delete();
            }
            recentPods.remove(name);
            recentRoots.remove(name);
        } catch (KubernetesClientException e) {
            throw failure("could not remove " + name, e);
        }
    }

    @Override
    public Map<String, Activity> activity() {
        Map<String, Integer> busy = dcgm == null ? Map.of() : dcgm.utilization(ns);
        Map<String, Activity> out = new HashMap<>();
        for (Pod p : pods.list()) {
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
        editNotices(name, data -> data.put(EnvironmentObjects.NOTICE_PREFIX + fileName, message));
    }

    @Override
    public void clearNotices(String name, String prefix) throws BackendException {
        editNotices(name, data -> data.keySet().removeIf(k -> k.startsWith(EnvironmentObjects.NOTICE_PREFIX + prefix)));
    }

    private void editNotices(String name, java.util.function.Consumer<Map<String, String>> change) throws BackendException {
        try {
            ConfigMap current = client.configMaps().inNamespace(ns).withName(name).get();
            if (current == null) {
                return; // nobody home
            }
            Map<String, String> data = new LinkedHashMap<>(current.getData() == null ? Map.of() : current.getData());
            Map<String, String> before = Map.copyOf(data);
            change.accept(data);
            if (!data.equals(before)) {
                client.configMaps().inNamespace(ns).withName(name).edit(cm -> {
                    cm.setData(data);
                    return cm;
                });
            }
        } catch (KubernetesClientException e) {
            throw failure("could not tell " + name, e);
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
