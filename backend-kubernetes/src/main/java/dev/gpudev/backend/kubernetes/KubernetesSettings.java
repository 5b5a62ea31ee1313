package dev.gpudev.backend.kubernetes;

import java.time.Duration;

/**
 * How the Kubernetes backend runs environments.
 *
 * @param namespace          where every object of the platform's environments lives
 * @param gpuTypeLabel       the node label that says a node's GPU type (nodes without it are not ours to use)
 * @param defaultImage       the development image when a reservation names none
 * @param utilityImage       a small image with a shell and find, for disk listings
 * @param storageClass       for disks and homes (null: the cluster's default class)
 * @param diskSize           the size of a new disk or home claim
 * @param unschedulableAfter how long a pod may wait for a node before its reservation fails
 * @param snapshotClass      a VolumeSnapshotClass: a disk is snapshotted when a reservation releases it (null: no snapshots)
 * @param dcgmUrl            a DCGM exporter's metrics URL for GPU utilisation (null: idle detection by SSH sessions only)
 * @param loginUser          the user environments' sshd lets in (the image's non-root user)
 * @param networkPolicy      whether the backend sets the environments' NetworkPolicy (off when the operator's chart owns it)
 * @param imagePullSecrets   Secrets of the environments' namespace its pods pull images with (a private registry)
 * @param nodePools          elastic GPU pools the processor sizes
 * @param buildRegistry      where Dockerfile builds are pushed; null: builds are refused here
 */
public record KubernetesSettings(String namespace, String gpuTypeLabel, String defaultImage, String utilityImage, String storageClass,
                                 String diskSize, Duration unschedulableAfter, String snapshotClass, String dcgmUrl, String loginUser,
                                 boolean networkPolicy, java.util.List<String> imagePullSecrets,
                                 java.util.List<dev.gpudev.backend.spi.NodePools.Pool> nodePools, String buildRegistry) {
    public KubernetesSettings {
        imagePullSecrets = imagePullSecrets == null ? java.util.List.of() : java.util.List.copyOf(imagePullSecrets);
        nodePools = nodePools == null ? java.util.List.of() : java.util.List.copyOf(nodePools);
    }

    /** Elastic GPU pools (on AWS, managed node groups' Auto Scaling groups) the processor sizes from the queue. */
    public KubernetesSettings withNodePools(java.util.List<dev.gpudev.backend.spi.NodePools.Pool> pools) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter,
                snapshotClass, dcgmUrl, loginUser, networkPolicy, imagePullSecrets, pools, buildRegistry);
    }

    /**
     * Where images built from Dockerfiles are pushed (and pulled by environments): a registry the cluster's nodes
     * reach; null: no builds on Kubernetes.
     */
    public KubernetesSettings withBuildRegistry(String registry) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter,
                snapshotClass, dcgmUrl, loginUser, networkPolicy, imagePullSecrets, nodePools, registry);
    }

    /** The namespace builds run in (its PodSecurity "baseline": rootless BuildKit needs user namespaces). */
    public String buildNamespace() {
        return namespace + "-builds";
    }

    /** Rootless BuildKit, run by builds (no daemon: buildctl-daemonless.sh). */
    public static final String BUILDKIT_IMAGE = "moby/buildkit:v0.18.2-rootless";

    public static final String DEFAULT_IMAGE = "ghcr.io/gpudev/dev:cuda12.8";
    public static final String UTILITY_IMAGE = "busybox:1.37";
    /** The port sshd listens on inside a pod (non-root: above 1024); its Service answers on 22. */
    public static final int SSHD_PORT = 2222;
    /** torch.distributed's rendezvous port on node 0. */
    public static final int RENDEZVOUS_PORT = 29500;

    public static KubernetesSettings defaults() {
        return new KubernetesSettings("gpu-dev", "GpuType", DEFAULT_IMAGE, UTILITY_IMAGE, null, "100Gi", Duration.ofMinutes(10), null, null,
                "dev", true, java.util.List.of(), java.util.List.of(), null);
    }

    /** Secrets in the environments' namespace that its pods pull their images with (a private registry). */
    public KubernetesSettings withImagePullSecrets(java.util.List<String> names) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter,
                snapshotClass, dcgmUrl, loginUser, networkPolicy, names, nodePools, buildRegistry);
    }

    public KubernetesSettings withNamespace(String ns) {
        return new KubernetesSettings(ns, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter, snapshotClass,
                dcgmUrl, loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withGpuTypeLabel(String label) {
        return new KubernetesSettings(namespace, label, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter, snapshotClass,
                dcgmUrl, loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withImages(String image, String utility) {
        return new KubernetesSettings(namespace, gpuTypeLabel, image, utility, storageClass, diskSize, unschedulableAfter, snapshotClass,
                dcgmUrl, loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withStorage(String cls, String size, String snapshots) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, cls, size, unschedulableAfter, snapshots, dcgmUrl,
                loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withUnschedulableAfter(Duration d) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, d, snapshotClass, dcgmUrl,
                loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withNetworkPolicy(boolean manage) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter,
                snapshotClass, dcgmUrl, loginUser, manage, imagePullSecrets, nodePools, buildRegistry);
    }

    public KubernetesSettings withDcgmUrl(String url) {
        return new KubernetesSettings(namespace, gpuTypeLabel, defaultImage, utilityImage, storageClass, diskSize, unschedulableAfter,
                snapshotClass, url, loginUser, networkPolicy, imagePullSecrets, nodePools, buildRegistry);
    }
}
