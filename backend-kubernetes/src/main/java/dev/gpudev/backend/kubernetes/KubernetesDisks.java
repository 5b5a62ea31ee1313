package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The Kubernetes backend's disks: a disk is a PersistentVolumeClaim named from its id; released, it is
 * snapshotted where the cluster has VolumeSnapshots ({@link DiskSnapshots}); listed by a short-lived pod
 * that mounts it ({@link DiskListingPod}, on the node that already mounts it, if any); deleted with its
 * snapshots.
 */
final class KubernetesDisks {
    private static final Duration LISTING_TIMEOUT = Duration.ofMinutes(2);

    private final KubernetesClient client;
    private final KubernetesSettings settings;
    private final Clock clock;
    private final String ns;
    /** The platform's pods in the namespace, as the backend's informer has them. */
    private final Supplier<List<Pod>> ourPods;
    private final DiskSnapshots snapshots;

    KubernetesDisks(KubernetesClient client, KubernetesSettings settings, Clock clock, Supplier<List<Pod>> ourPods) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
        this.ns = settings.namespace();
        this.ourPods = ourPods;
        this.snapshots = new DiskSnapshots(client, settings, clock);
    }

    /** A disk released by a reservation is snapshotted, where the cluster can. */
    void snapshot(long diskId) {
        snapshots.take(diskId);
    }

    /** Deletes the disk's claim and its snapshots; one already gone is fine. */
    void delete(DiskRef disk) throws BackendException {
        try {
            client.persistentVolumeClaims().inNamespace(ns).withName(EnvironmentObjects.diskClaim(disk.id())).delete();
            snapshots.deleteAll(disk.id());
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
