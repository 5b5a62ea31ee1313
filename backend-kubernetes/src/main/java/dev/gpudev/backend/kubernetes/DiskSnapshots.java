package dev.gpudev.backend.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Snapshots of a disk's claim (VolumeSnapshots of the configured class), taken when a reservation
 * releases it, the three newest kept, deleted with the disk. A cluster without the VolumeSnapshot
 * resource is said once and not asked again.
 */
final class DiskSnapshots {
    private static final Logger log = LoggerFactory.getLogger(DiskSnapshots.class);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Clock clock;
    private final String ns;
    private volatile boolean snapshotsMissing;

    DiskSnapshots(KubernetesClient client, KubernetesSettings settings, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
        this.ns = settings.namespace();
    }

    /** A snapshot of the disk now; the three newest are kept. */
    void take(long diskId) {
        if (settings.snapshotClass() == null || snapshotsMissing) {
            return;
        }
        var api = client.genericKubernetesResources("snapshot.storage.k8s.io/v1", "VolumeSnapshot").inNamespace(ns);
        try {
            GenericKubernetesResource snap = new GenericKubernetesResourceBuilder().withApiVersion("snapshot.storage.k8s.io/v1")
                    .withKind("VolumeSnapshot").withNewMetadata().withName(EnvironmentObjects.diskClaim(diskId) + "-" + clock.instant().getEpochSecond())
                    .withNamespace(ns).addToLabels(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS)
                    .addToLabels(EnvironmentObjects.DISK, Long.toString(diskId)).endMetadata()
                    .addToAdditionalProperties("spec", Map.of("volumeSnapshotClassName", settings.snapshotClass(),
                            "source", Map.of("persistentVolumeClaimName", EnvironmentObjects.diskClaim(diskId))))
                    .build();
            api.resource(snap).create();
            List<GenericKubernetesResource> all = api.withLabel(EnvironmentObjects.DISK, Long.toString(diskId)).list().getItems();
            all.sort(Comparator.comparing((GenericKubernetesResource r) -> r.getMetadata().getName()).reversed());
            for (int i = 3; i < all.size(); i++) {
                api.withName(all.get(i).getMetadata().getName()).delete();
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                snapshotsMissing = true;
                log.warn("no VolumeSnapshot resource in this cluster: disks are not snapshotted");
            } else {
                log.warn("could not snapshot disk {}: {}", diskId, e.getMessage());
            }
        }
    }

    /** Every snapshot of the disk (the caller says what a failure means). */
    void deleteAll(long diskId) {
        if (settings.snapshotClass() != null && !snapshotsMissing) {
            client.genericKubernetesResources("snapshot.storage.k8s.io/v1", "VolumeSnapshot").inNamespace(ns)
                    .withLabel(EnvironmentObjects.DISK, Long.toString(diskId)).delete();
        }
    }
}
