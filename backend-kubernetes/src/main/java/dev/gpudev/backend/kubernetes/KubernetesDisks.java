package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The Kubernetes backend's disks: a disk is a PersistentVolumeClaim named from its id; released, it is
 * snapshotted where the cluster has VolumeSnapshots; listed by a short-lived pod that mounts it (on the
 * node that already mounts it, if any); deleted with its snapshots.
 */
final class KubernetesDisks {
    private static final Logger log = LoggerFactory.getLogger(KubernetesDisks.class);
    private static final Duration LISTING_TIMEOUT = Duration.ofMinutes(2);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Clock clock;
    private final String ns;
    /** The platform's pods in the namespace, as the backend's informer has them. */
    private final Supplier<List<Pod>> ourPods;
    private volatile boolean snapshotsMissing;

    KubernetesDisks(KubernetesClient client, KubernetesSettings settings, Clock clock, Supplier<List<Pod>> ourPods) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
        this.ns = settings.namespace();
        this.ourPods = ourPods;
    }

    /** A disk released by a reservation is snapshotted, where the cluster can (the three newest kept). */
    void snapshot(long diskId) {
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

    /** Deletes the disk's claim and its snapshots; one already gone is fine. */
    void delete(DiskRef disk) throws BackendException {
        try {
            client.persistentVolumeClaims().inNamespace(ns).withName(EnvironmentObjects.diskClaim(disk.id())).delete();
            if (settings.snapshotClass() != null && !snapshotsMissing) {
                client.genericKubernetesResources("snapshot.storage.k8s.io/v1", "VolumeSnapshot").inNamespace(ns)
                        .withLabel(EnvironmentObjects.DISK, Long.toString(disk.id())).delete();
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw KubernetesBackend.failure("could not delete disk " + EnvironmentObjects.shown(disk), e);
            }
        }
    }

    /** Its files (at most {@code limit}), read by a pod that mounts it, within {@link #LISTING_TIMEOUT}. */
    DiskListing list(DiskRef disk, int limit) throws BackendException {
        String claim = EnvironmentObjects.diskClaim(disk.id());
        String name = DiskListingPod.name(disk);
        try {
            if (client.persistentVolumeClaims().inNamespace(ns).withName(claim).get() == null) {
                return new DiskListing(List.of(), false, 0); // never used: nothing on it
            }
            var podApi = client.pods().inNamespace(ns).withName(name);
            Pod old = podApi.get();
            if (old != null) {
                podApi.withGracePeriod(0).delete();
                podApi.waitUntilCondition(Objects::isNull, 30, java.util.concurrent.TimeUnit.SECONDS);
            }
            client.resource(DiskListingPod.pod(disk, limit, settings, nodeMounting(claim))).inNamespace(ns).create();
            Instant deadline = clock.instant().plus(LISTING_TIMEOUT);
            Pod done = podApi.waitUntilCondition(p -> p == null || ClusterCapacity.finished(p) || clock.instant().isAfter(deadline),
                    LISTING_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            try {
                if (done == null || !"Succeeded".equals(done.getStatus().getPhase())) {
                    throw new BackendException("listing disk " + EnvironmentObjects.shown(disk) + " did not finish"
                            + (done == null || done.getStatus() == null || done.getStatus().getMessage() == null ? "" : ": " + done.getStatus().getMessage()),
                            true);
                }
                return DiskListingPod.parse(podApi.getLog(), limit);
            } finally {
                podApi.withGracePeriod(0).delete();
            }
        } catch (io.fabric8.kubernetes.client.KubernetesClientTimeoutException e) {
            throw new BackendException("listing disk " + EnvironmentObjects.shown(disk) + " took too long", true, e);
        } catch (KubernetesClientException e) {
            throw KubernetesBackend.failure("could not list disk " + EnvironmentObjects.shown(disk), e);
        }
    }

    /** The node where one of our pods already mounts the claim, if any. */
    private String nodeMounting(String claim) {
        for (Pod p : ourPods.get()) {
            if (p.getSpec() == null || p.getSpec().getVolumes() == null || p.getSpec().getNodeName() == null) {
                continue;
            }
            for (Volume v : p.getSpec().getVolumes()) {
                if (v.getPersistentVolumeClaim() != null && claim.equals(v.getPersistentVolumeClaim().getClaimName())) {
                    return p.getSpec().getNodeName();
                }
            }
        }
        return null;
    }
}
