package dev.gpudev.server;

import dev.gpudev.backend.kubernetes.KubernetesSettings;
import dev.gpudev.core.ValidationException;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * How the platform uses a cluster: the server's options, and `render`'s (which shows what the server
 * would make with the same ones), declared once.
 */
final class KubernetesOptions {
    @Option(names = "--kubeconfig", description = "a kubeconfig file (else the in-cluster service account, $KUBECONFIG or ~/.kube/config)")
    Path kubeconfig;

    @Option(names = "--context", description = "the kubeconfig context to use")
    String context;

    @Option(names = "--namespace", description = "where environments run (default ${DEFAULT-VALUE})", defaultValue = "gpu-dev")
    String namespace;

    @Option(names = "--gpu-type-label", description = "the node label naming its GPU type (default ${DEFAULT-VALUE})", defaultValue = "GpuType")
    String gpuTypeLabel;

    @Option(names = "--default-image", description = "the development image when a reservation names none (default "
            + KubernetesSettings.DEFAULT_IMAGE + ")")
    String defaultImage;

    @Option(names = "--image-pull-secret", description = "a Secret of the environments' namespace to pull images with (a private"
            + " registry; repeatable)")
    java.util.List<String> imagePullSecrets = new java.util.ArrayList<>();

    @Option(names = "--storage-class", description = "storage class of disks and homes (default: the cluster's)")
    String storageClass;

    @Option(names = "--disk-size", description = "size of a new disk or home (default ${DEFAULT-VALUE})", defaultValue = "100Gi")
    String diskSize;

    @Option(names = "--snapshot-class", description = "a VolumeSnapshotClass: disks are snapshotted when a reservation releases them")
    String snapshotClass;

    @Option(names = "--dcgm-url", description = "a DCGM exporter's metrics URL, for GPU utilisation in idle detection")
    String dcgmUrl;

    @Option(names = "--no-network-policy", description = "do not set the environments' NetworkPolicy (the operator's chart owns it)")
    boolean noNetworkPolicy;

    /** The settings these options say; a kubeconfig that cannot be read is a message, not a half-started server. */
    KubernetesSettings settings() {
        if (kubeconfig != null && !java.nio.file.Files.isReadable(kubeconfig)) {
            throw new ValidationException("cannot read --kubeconfig " + kubeconfig);
        }
        return KubernetesSettings.defaults().withNamespace(namespace).withGpuTypeLabel(gpuTypeLabel)
                .withImages(defaultImage != null ? defaultImage : KubernetesSettings.DEFAULT_IMAGE, KubernetesSettings.UTILITY_IMAGE)
                .withStorage(storageClass, diskSize, snapshotClass).withDcgmUrl(dcgmUrl).withNetworkPolicy(!noNetworkPolicy)
                .withImagePullSecrets(imagePullSecrets);
    }
}
