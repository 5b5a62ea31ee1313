package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The objects of one environment, made from its spec alone (and the size of the node it goes to), so
 * the backend and {@code gpu-dev server render} print the same thing:
 * <ul>
 * <li>a ConfigMap named after the environment, the root the others are owned by (deleting it removes
 * them), holding what the environment's own agent follows (Jupyter's port, the notices for its users);
 * <li>a Secret with the authorized keys (the owner's and added users') and Jupyter's token;
 * <li>the Pod on the chosen node, tolerating the GPU taint, with its GPUs and a share of the node's CPU
 * and memory, sshd as the image's non-root user, no service-account token;
 * <li>a Service the SSH proxy reaches it through (22, and Jupyter's port when wanted);
 * <li>for node 0 of a distributed reservation, a headless Service that gives every node a stable name
 * (MASTER_ADDR);
 * <li>the home's PersistentVolumeClaim (a named disk's, or the environment's own), never owned: homes
 * outlive environments.
 * </ul>
 */
public final class EnvironmentObjects {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String OURS = "gpudev";
    public static final String COMPONENT = "app.kubernetes.io/component";
    public static final String RESERVATION = "gpudev.dev/reservation";
    public static final String ENVIRONMENT = "gpudev.dev/environment";
    public static final String RANK = "gpudev.dev/rank";
    public static final String USER = "gpudev.dev/user";
    public static final String DISK = "gpudev.dev/disk";
    public static final String NOTICE_PREFIX = "notice.";
    static final String HOME = "/home/dev";

    /** What a node offers, for the pod's share of it. */
    /**
     * What a node offers, from its allocatable resources.
     *
     * @param efa the node's EFA interfaces (AWS's Elastic Fabric Adapter, advertised by its device plugin as
     *            vpc.amazonaws.com/efa): a distributed reservation's node takes them all, for NCCL between nodes
     */
    public record NodeSize(int gpus, Quantity cpu, Quantity memory, int efa) {
        public NodeSize(int gpus, Quantity cpu, Quantity memory) {
            this(gpus, cpu, memory, 0);
        }
    }

    /** The extended resource AWS's EFA device plugin advertises. */
    public static final String EFA = "vpc.amazonaws.com/efa";

    private EnvironmentObjects() {
    }

    public static String keysSecret(String environment) {
        return environment + "-keys";
    }

    public static String diskClaim(long diskId) {
        return "gpudev-disk-" + diskId;
    }

    public static String homeClaim(String environment) {
        return environment + "-home";
    }

    /** The headless Service that names the nodes of a distributed reservation. */
    public static String peers(UUID reservationId) {
        String id = reservationId.toString();
        return "gpudev-" + id.substring(0, 8) + id.substring(24) + "-peers";
    }

    /** Node 0's stable name, and the port torch.distributed meets on. */
    public static String masterAddress(String node0Environment, UUID reservationId, String namespace) {
        return node0Environment + "." + peers(reservationId) + "." + namespace + ".svc.cluster.local";
    }

    static Map<String, String> labels(EnvironmentSpec spec, String component) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put(MANAGED_BY, OURS);
        l.put(COMPONENT, component);
        l.put(RESERVATION, spec.reservationId().toString());
        l.put(ENVIRONMENT, spec.name());
        l.put(RANK, Integer.toString(spec.rank()));
        l.put(USER, Long.toString(spec.owner().userId()));
        return l;
    }

    private static ObjectMeta meta(String name, String namespace, Map<String, String> labels, OwnerReference owner) {
        ObjectMetaBuilder b = new ObjectMetaBuilder().withName(name).withNamespace(namespace).withLabels(labels);
        if (owner != null) {
            b.withOwnerReferences(owner);
        }
        return b.build();
    }

    /** The root: owner of the rest; its data is what the environment's agent follows. */
    public static ConfigMap root(EnvironmentSpec spec, String namespace) {
        Map<String, String> data = new LinkedHashMap<>();
        data.put("reservation", spec.reservationId().toString());
        data.put("rank", Integer.toString(spec.rank()));
        data.put("owner", spec.owner().username());
        if (spec.jupyter() != null) {
            data.put("jupyter-port", Integer.toString(spec.jupyter().port()));
        }
        return new ConfigMapBuilder().withMetadata(meta(spec.name(), namespace, labels(spec, "environment"), null)).withData(data).build();
    }

    /** A reference that makes the object go when the root goes. */
    public static OwnerReference ownedBy(ConfigMap root) {
        return new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName(root.getMetadata().getName())
                .withUid(root.getMetadata().getUid()).withBlockOwnerDeletion(true).withController(true).build();
    }

    public static Secret keys(EnvironmentSpec spec, String namespace, OwnerReference owner) {
        Map<String, String> data = new LinkedHashMap<>();
        data.put("authorized_keys", String.join("\n", spec.authorizedKeys()) + "\n");
        if (spec.jupyter() != null) {
            data.put("jupyter-token", spec.jupyter().token());
        }
        return new SecretBuilder().withMetadata(meta(keysSecret(spec.name()), namespace, labels(spec, "environment"), owner))
                .withType("Opaque").withStringData(data).build();
    }

    public static Service service(EnvironmentSpec spec, String namespace, OwnerReference owner) {
        List<ServicePort> ports = new ArrayList<>();
        ports.add(new ServicePortBuilder().withName("ssh").withPort(22).withTargetPort(new IntOrString(KubernetesSettings.SSHD_PORT))
                .withProtocol("TCP").build());
        if (spec.jupyter() != null) {
            ports.add(new ServicePortBuilder().withName("jupyter").withPort(spec.jupyter().port())
                    .withTargetPort(new IntOrString(spec.jupyter().port())).withProtocol("TCP").build());
        }
        // A batch run's pod is no longer "Ready" once its run-status container ended with the command: its sshd still
        // is, and a kept reservation is still reached (the platform judges readiness by the dev container).
        return new ServiceBuilder().withMetadata(meta(spec.name(), namespace, labels(spec, "environment"), owner))
                .withNewSpec().withType("ClusterIP").withSelector(Map.of(ENVIRONMENT, spec.name())).withPorts(ports)
                .withPublishNotReadyAddresses(spec.run() != null ? Boolean.TRUE : null).endSpec().build();
    }

    public static Service peersService(EnvironmentSpec spec, String namespace, OwnerReference owner) {
        return new ServiceBuilder().withMetadata(meta(peers(spec.reservationId()), namespace, labels(spec, "peers"), owner))
                .withNewSpec().withClusterIP("None").withPublishNotReadyAddresses(true)
                .withSelector(Map.of(RESERVATION, spec.reservationId().toString()))
                .withPorts(new ServicePortBuilder().withName("rendezvous").withPort(KubernetesSettings.RENDEZVOUS_PORT).withProtocol("TCP").build())
                .endSpec().build();
    }

    /** The home's claim; null for a scratch home (an emptyDir). Never owned: a home outlives its environment. */
    public static PersistentVolumeClaim homeClaim(EnvironmentSpec spec, KubernetesSettings settings) {
        String name;
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(MANAGED_BY, OURS);
        labels.put(USER, Long.toString(spec.owner().userId()));
        switch (spec.home()) {
            case EnvironmentSpec.Home.Disk d -> {
                name = diskClaim(d.disk().id());
                labels.put(COMPONENT, "disk");
                labels.put(DISK, Long.toString(d.disk().id()));
            }
            case EnvironmentSpec.Home.Own o -> {
                name = homeClaim(spec.name());
                labels.put(COMPONENT, "home");
                labels.put(RESERVATION, spec.reservationId().toString());
            }
            case EnvironmentSpec.Home.Scratch s -> {
                return null;
            }
        }
        return claim(name, settings, labels);
    }

    static PersistentVolumeClaim claim(String name, KubernetesSettings settings, Map<String, String> labels) {
        var spec = new PersistentVolumeClaimBuilder().withMetadata(meta(name, settings.namespace(), labels, null)).withNewSpec()
                .withAccessModes("ReadWriteOnce")
                .withNewResources().withRequests(Map.of("storage", new Quantity(settings.diskSize()))).endResources();
        if (settings.storageClass() != null) {
            spec.withStorageClassName(settings.storageClass());
        }
        return spec.endSpec().build();
    }

    public static Pod pod(EnvironmentSpec spec, KubernetesSettings settings, NodeSize node, OwnerReference owner) {
        String image = spec.image() != null && !spec.image().isBlank() ? spec.image() : settings.defaultImage();
        boolean distributed = spec.distributed();
        List<EnvVar> env = new ArrayList<>();
        spec.env().values().forEach((k, v) -> env.add(new EnvVar(k, v, null))); // the reservation's own (validated: not the platform's)
        if (!spec.env().isEmpty()) {
            // their names, for the entrypoint to hand them to every SSH session too (sshd's SetEnv)
            env.add(new EnvVar("GPUDEV_ENV_NAMES", String.join(" ", new java.util.TreeSet<>(spec.env().values().keySet())), null));
        }
        env.add(new EnvVar("GPUDEV_RESERVATION", spec.reservationId().toString(), null));
        env.add(new EnvVar("GPUDEV_ENVIRONMENT", spec.name(), null));
        env.add(new EnvVar("GPUDEV_OWNER", spec.owner().username(), null));
        env.add(new EnvVar("GPUDEV_RANK", Integer.toString(spec.rank()), null));
        if (spec.run() != null) {
            // the entrypoint starts gpudev-run with these words (quoted as a POSIX shell reads them back)
            env.add(new EnvVar("GPUDEV_RUN_NAME", spec.name(), null));
            env.add(new EnvVar("GPUDEV_RUN_STATUS_DIR", RUN_STATUS_DIR, null));
            env.add(new EnvVar("GPUDEV_RUN_COMMAND", spec.run().shellLine(), null));
            if (spec.run().workdir() != null) {
                env.add(new EnvVar("GPUDEV_RUN_WORKDIR", spec.run().workdir(), null));
            }
        }
        if (distributed) {
            // node 0 is reached at its stable DNS name (the headless peers Service), on the rendezvous port
            spec.gang().variables(spec.rank(), masterAddress(spec.gang().node0(), spec.reservationId(), settings.namespace()),
                            KubernetesSettings.RENDEZVOUS_PORT, spec.gpuCount()).entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> env.add(new EnvVar(e.getKey(), e.getValue(), null)));
        }

        Map<String, Quantity> limits = new LinkedHashMap<>();
        Map<String, Quantity> requests = new LinkedHashMap<>();
        long shmBytes = 0;
        limits.put("nvidia.com/gpu", new Quantity(Integer.toString(spec.gpuCount())));
        requests.put("nvidia.com/gpu", new Quantity(Integer.toString(spec.gpuCount())));
        if (distributed && node != null && node.efa() > 0 && node.gpus() > 0 && spec.gpuCount() >= node.gpus()) {
            // a distributed reservation has whole nodes: all their EFA interfaces too (NCCL across nodes over libfabric)
            limits.put(EFA, new Quantity(Integer.toString(node.efa())));
            requests.put(EFA, new Quantity(Integer.toString(node.efa())));
        }
        if (node != null && node.gpus() > 0) {
            BigDecimal share = BigDecimal.valueOf(spec.gpuCount()).divide(BigDecimal.valueOf(node.gpus()), 6, RoundingMode.DOWN);
            long milliCpu = Quantity.getAmountInBytes(node.cpu()).multiply(share).multiply(BigDecimal.valueOf(1000)).longValue();
            long bytes = Quantity.getAmountInBytes(node.memory()).multiply(share).longValue();
            limits.put("cpu", new Quantity(milliCpu + "m"));
            limits.put("memory", new Quantity(Long.toString(bytes / (1024 * 1024)) + "Mi"));
            shmBytes = bytes / 2;
            // Requests a little under the limits: the node's own daemons need room too.
            requests.put("cpu", new Quantity((milliCpu * 9 / 10) + "m"));
            requests.put("memory", new Quantity(Long.toString(bytes * 9 / 10 / (1024 * 1024)) + "Mi"));
        }

        // Local disk the pod may fill: its workspace, a scratch home, and its own writable layer and logs; bounded,
        // so that one tenant cannot fill the node (the kubelet evicts a pod past its ephemeral-storage limit).
        List<Volume> volumes = new ArrayList<>();
        PersistentVolumeClaim home = homeClaim(spec, settings);
        Quantity scratchHome = new Quantity(settings.diskSize());
        volumes.add(home == null
                ? new VolumeBuilder().withName("home").withNewEmptyDir().withSizeLimit(scratchHome).endEmptyDir().build()
                : new VolumeBuilder().withName("home").withNewPersistentVolumeClaim().withClaimName(home.getMetadata().getName())
                .endPersistentVolumeClaim().build());
        // memory-backed: it counts in the memory limit, and takes at most half of it
        volumes.add(new VolumeBuilder().withName("shm").withNewEmptyDir().withMedium("Memory")
                .withSizeLimit(shmBytes > 0 ? new Quantity((shmBytes >> 20) + "Mi") : null).endEmptyDir().build());
        volumes.add(new VolumeBuilder().withName("workspace").withNewEmptyDir().withSizeLimit(new Quantity(WORKSPACE)).endEmptyDir().build());
        long ephemeral = Quantity.getAmountInBytes(new Quantity(WORKSPACE)).longValue() + Quantity.getAmountInBytes(new Quantity(WRITABLE)).longValue()
                + (home == null ? Quantity.getAmountInBytes(scratchHome).longValue() : 0);
        limits.put("ephemeral-storage", new Quantity((ephemeral >> 30) + "Gi"));
        requests.put("ephemeral-storage", new Quantity("1Gi"));
        volumes.add(new VolumeBuilder().withName("keys").withNewSecret().withSecretName(keysSecret(spec.name())).withDefaultMode(0444)
                .endSecret().build());
        volumes.add(new VolumeBuilder().withName("gpudev").withNewConfigMap().withName(spec.name()).endConfigMap().build());

        var podSpec = new PodBuilder().withMetadata(meta(spec.name(), settings.namespace(), labels(spec, "environment"), owner))
                .withNewSpec()
                .withHostname(spec.name())
                .withNodeSelector(Map.of("kubernetes.io/hostname", spec.node()))
                .addNewToleration().withKey("nvidia.com/gpu").withOperator("Exists").withEffect("NoSchedule").endToleration()
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withImagePullSecrets(settings.imagePullSecrets().stream().map(n -> new io.fabric8.kubernetes.api.model.LocalObjectReference(n)).toList())
                // a run's status container ends (exit 0) with the command: it must stay ended, the dev container restarts on failure
                .withRestartPolicy(spec.run() == null ? "Always" : "OnFailure")
                .withTerminationGracePeriodSeconds(30L)
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(1000L).withRunAsGroup(1000L).withFsGroup(1000L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("dev").withImage(image).withImagePullPolicy("IfNotPresent")
                .addNewPort().withName("ssh").withContainerPort(KubernetesSettings.SSHD_PORT).endPort()
                .withEnv(env)
                .withNewResources().withLimits(limits).withRequests(requests).endResources()
                .withNewReadinessProbe().withNewTcpSocket().withPort(new IntOrString(KubernetesSettings.SSHD_PORT)).endTcpSocket()
                .withPeriodSeconds(5).endReadinessProbe()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .addNewVolumeMount().withName("home").withMountPath(HOME).endVolumeMount()
                .addNewVolumeMount().withName("shm").withMountPath("/dev/shm").endVolumeMount()
                .addNewVolumeMount().withName("workspace").withMountPath("/workspace").endVolumeMount()
                .addNewVolumeMount().withName("keys").withMountPath("/etc/gpudev/keys").withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("gpudev").withMountPath("/etc/gpudev/config").withReadOnly(true).endVolumeMount()
                .endContainer()
                .withVolumes(volumes);
        if (spec.jupyter() != null) {
            podSpec.editFirstContainer().addNewPort().withName("jupyter").withContainerPort(spec.jupyter().port()).endPort().endContainer();
        }
        if (distributed) {
            podSpec.withSubdomain(peers(spec.reservationId()));
        }
        if (spec.run() != null) {
            podSpec.addToContainers(runStatus(spec, image));
            podSpec.addNewVolume().withName(RUN_STATUS).withNewEmptyDir().withSizeLimit(new Quantity("1Mi")).endEmptyDir().endVolume();
            podSpec.editFirstContainer().addNewVolumeMount().withName(RUN_STATUS).withMountPath(RUN_STATUS_DIR).endVolumeMount().endContainer();
        }
        return podSpec.endSpec().build();
    }

    /** The container that tells the platform how a batch run ended: its termination message (code, then the log's end). */
    public static final String RUN_STATUS = "run-status";
    /** Where the wrapper keeps the code and its heartbeat for the status container (not the home: a full home loses nothing). */
    static final String RUN_STATUS_DIR = "/run/gpudev-run";

    /**
     * A batch run's status container: no GPU, a few MiB, the home read-only; it waits for the command's exit code
     * in the home (gpudev-run writes it) and ends with the code and the end of the log as its termination message,
     * which the platform reads from the pod's status (no exec, no log access needed).
     */
    static io.fabric8.kubernetes.api.model.Container runStatus(EnvironmentSpec spec, String image) {
        return new io.fabric8.kubernetes.api.model.ContainerBuilder().withName(RUN_STATUS).withImage(image).withImagePullPolicy("IfNotPresent")
                .withCommand("/usr/local/bin/gpudev-run", "--report")
                .withEnv(new EnvVar("GPUDEV_RUN_NAME", spec.name(), null), new EnvVar("HOME", HOME, null),
                        new EnvVar("GPUDEV_RUN_STATUS_DIR", RUN_STATUS_DIR, null))
                .withTerminationMessagePolicy("File")
                .withNewResources()
                .withLimits(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("32Mi"), "ephemeral-storage", new Quantity("16Mi")))
                .withRequests(Map.of("cpu", new Quantity("10m"), "memory", new Quantity("16Mi"), "ephemeral-storage", new Quantity("1Mi")))
                .endResources()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("home").withMountPath(HOME).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName(RUN_STATUS).withMountPath(RUN_STATUS_DIR).withReadOnly(true).endVolumeMount()
                .build();
    }

    /** An environment's /workspace (local, deleted with the pod) at most. */
    static final String WORKSPACE = "50Gi";
    /** What its container may write outside its volumes (its writable layer, its logs) at most. */
    static final String WRITABLE = "20Gi";
    /** The cluster's DNS: the only place environments may send port 53 (no tunnelling data out through any resolver). */
    static final Map<String, String> CLUSTER_DNS = Map.of("k8s-app", "kube-dns");

    /** The platform's SSH proxy pods: the only ones that may open a connection to an environment. */
    public static final Map<String, String> PROXY_PODS = Map.of("app.kubernetes.io/name", "gpudev", COMPONENT, "proxy");

    /**
     * The namespace's rule for every environment (tenants are not trusted): in, only the SSH proxy to
     * sshd; out, the cluster's DNS and the internet, never the cluster's or the VPC's private addresses nor the
     * cloud's metadata endpoint (the node's credentials). Enforced by the cluster's network plugin.
     */
    public static io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy environmentsPolicy(String namespace) {
        return new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder()
                .withNewMetadata().withName("gpudev-environments").withNamespace(namespace).addToLabels(MANAGED_BY, OURS).endMetadata()
                .withNewSpec()
                .withNewPodSelector().addToMatchLabels(MANAGED_BY, OURS).addToMatchLabels(COMPONENT, "environment").endPodSelector()
                .withPolicyTypes("Ingress", "Egress")
                .addNewIngress()
                .addNewFrom().withNewPodSelector().withMatchLabels(PROXY_PODS).endPodSelector().withNewNamespaceSelector().endNamespaceSelector().endFrom()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(KubernetesSettings.SSHD_PORT)).endPort()
                .endIngress()
                .addNewEgress()
                .addNewTo().withNewNamespaceSelector().addToMatchLabels("kubernetes.io/metadata.name", "kube-system").endNamespaceSelector()
                .withNewPodSelector().withMatchLabels(CLUSTER_DNS).endPodSelector().endTo()
                .addNewPort().withProtocol("UDP").withPort(new IntOrString(53)).endPort()
                .addNewPort().withProtocol("TCP").withPort(new IntOrString(53)).endPort()
                .endEgress()
                .addNewEgress()
                .addNewTo().withNewIpBlock().withCidr("0.0.0.0/0")
                .withExcept("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16").endIpBlock().endTo()
                .endEgress()
                .endSpec().build();
    }

    /** The nodes of a distributed reservation talk to each other freely (NCCL, the rendezvous); to no one else's. */
    public static io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy peersPolicy(EnvironmentSpec spec, String namespace,
                                                                                         OwnerReference owner) {
        Map<String, String> reservation = Map.of(RESERVATION, spec.reservationId().toString());
        return new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder()
                .withMetadata(meta(peers(spec.reservationId()), namespace, labels(spec, "peers"), owner))
                .withNewSpec()
                .withNewPodSelector().withMatchLabels(reservation).endPodSelector()
                .withPolicyTypes("Ingress", "Egress")
                .addNewIngress().addNewFrom().withNewPodSelector().withMatchLabels(reservation).endPodSelector().endFrom().endIngress()
                .addNewEgress().addNewTo().withNewPodSelector().withMatchLabels(reservation).endPodSelector().endTo().endEgress()
                .endSpec().build();
    }

    /** Everything ensure would create for this spec, in creation order (for render). */
    public static List<HasMetadata> all(EnvironmentSpec spec, KubernetesSettings settings, NodeSize node) {
        List<HasMetadata> out = new ArrayList<>();
        ConfigMap root = root(spec, settings.namespace());
        OwnerReference owner = new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName(spec.name())
                .withUid("(the root's uid)").withBlockOwnerDeletion(true).withController(true).build();
        out.add(root);
        PersistentVolumeClaim home = homeClaim(spec, settings);
        if (home != null) {
            out.add(home);
        }
        out.add(keys(spec, settings.namespace(), owner));
        out.add(service(spec, settings.namespace(), owner));
        if (spec.rank() == 0 && spec.distributed()) {
            out.add(peersService(spec, settings.namespace(), owner));
            out.add(peersPolicy(spec, settings.namespace(), owner));
        }
        out.add(pod(spec, settings, node, owner));
        return out;
    }

    /** A disk of a user, for messages. */
    static String shown(DiskRef d) {
        return d.owner() + "/" + d.name();
    }
}
