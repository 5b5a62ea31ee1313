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

    @Option(names = "--default-image", description = "the image environments run on when a reservation names none (Kubernetes: "
            + "default " + KubernetesSettings.DEFAULT_IMAGE + "; local: default the machine's own system)")
    String defaultImage;

    @Option(names = "--image-pull-secret", description = "a Secret of the environments' namespace to pull images with (a private"
            + " registry; repeatable)")
    java.util.List<String> imagePullSecrets = new java.util.ArrayList<>();

    @Option(names = "--node-pool", description = "an elastic GPU pool the processor sizes from the queue: TYPE=AUTO_SCALING_GROUP,"
            + "gpus=N,max=M[,min=K][,zone=Z] (on AWS, an EKS managed node group's Auto Scaling group, in zone Z; repeatable)")
    java.util.List<String> nodePools = new java.util.ArrayList<>();

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
                .withImagePullSecrets(imagePullSecrets).withNodePools(nodePools.stream().map(KubernetesOptions::pool).toList());
    }

    /** "h100=eks-gpu-h100-abc,gpus=8,max=4,min=0,zone=us-east-1a" as a pool; a mistake is said in words. */
    static dev.gpudev.backend.spi.NodePools.Pool pool(String spec) {
        var m = java.util.regex.Pattern.compile("([a-z0-9][a-z0-9-]*)=([A-Za-z0-9._:/-]+)((?:,(?:(?:gpus|max|min)=\\d+|zone=[a-z0-9-]+))+)")
                .matcher(spec.trim());
        if (!m.matches()) {
            throw new ValidationException("--node-pool " + spec + ": expected TYPE=AUTO_SCALING_GROUP,gpus=N,max=M[,min=K][,zone=Z]");
        }
        java.util.Map<String, Integer> n = new java.util.HashMap<>();
        String zone = null;
        for (String kv : m.group(3).substring(1).split(",")) {
            String k = kv.substring(0, kv.indexOf('='));
            if (k.equals("zone")) {
                zone = kv.substring(kv.indexOf('=') + 1);
            } else {
                n.put(k, Integer.parseInt(kv.substring(kv.indexOf('=') + 1)));
            }
        }
        if (!n.containsKey("gpus") || !n.containsKey("max")) {
            throw new ValidationException("--node-pool " + spec + ": gpus=N and max=M are needed");
        }
        try {
            return new dev.gpudev.backend.spi.NodePools.Pool(m.group(1), m.group(2), n.get("gpus"), n.getOrDefault("min", 0), n.get("max"),
                    zone == null ? java.util.Map.of() : java.util.Map.of(dev.gpudev.core.Reservation.Options.ZONE_LABEL, zone));
        } catch (IllegalArgumentException e) {
            throw new ValidationException("--node-pool " + spec + ": " + e.getMessage());
        }
    }
}
