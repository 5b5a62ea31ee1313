package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A disk's listing where its files are: a short-lived pod that mounts the claim read-only, lists it
 * shallowest first with busybox's find, stat, awk and sort, and prints what it found to its log. The
 * same script runs in the tests against a directory, so what the parser reads is what the pod writes.
 */
public final class DiskListingPod {
    /**
     * Prints "total BYTES COUNT" and then one line per entry, "DEPTH TYPE SIZE MTIME PATH" (tab-separated),
     * shallowest first, at most LIMIT of them. Run in the mounted disk.
     */
    public static final String SCRIPT = """
            cd "${DISK:-/disk}" || exit 2
            find . -mindepth 1 -exec stat -c '%F|%s|%Y|%n' {} + > "${TMPDIR:-/tmp}/gpudev-ls" 2>/dev/null || true
            awk -F'|' '{ n++; if ($1 == "regular file" || $1 == "regular empty file") t += $2 } END { printf "total\\t%d\\t%d\\n", t, n }' "${TMPDIR:-/tmp}/gpudev-ls"
            awk '{ p = $0; for (i = 0; i < 3; i++) p = substr(p, index(p, "|") + 1); split($0, f, "|"); d = gsub("/", "/", p);
                   print d "\\t" f[1] "\\t" f[2] "\\t" f[3] "\\t" substr(p, 3) }' "${TMPDIR:-/tmp}/gpudev-ls" | sort -n -s -k1,1 | head -n "${LIMIT:-1000}"
            """;

    private DiskListingPod() {
    }

    public static String name(DiskRef disk) {
        return "gpudev-ls-" + disk.id();
    }

    /** The pod: the claim read-only, on the node where a pod of ours already mounts it (a ReadWriteOnce claim allows that). */
    public static Pod pod(DiskRef disk, int limit, KubernetesSettings settings, String nodeName) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS);
        labels.put(EnvironmentObjects.COMPONENT, "disk-listing");
        labels.put(EnvironmentObjects.DISK, Long.toString(disk.id()));
        var spec = new PodBuilder().withNewMetadata().withName(name(disk)).withNamespace(settings.namespace()).withLabels(labels).endMetadata()
                .withNewSpec().withRestartPolicy("Never").withAutomountServiceAccountToken(false).withEnableServiceLinks(false)
                .withActiveDeadlineSeconds(300L)
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(1000L).withRunAsGroup(1000L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewToleration().withKey("nvidia.com/gpu").withOperator("Exists").withEffect("NoSchedule").endToleration()
                .addNewContainer().withName("ls").withImage(settings.utilityImage()).withCommand("sh", "-c", SCRIPT)
                .addNewEnv().withName("DISK").withValue("/disk").endEnv()
                .addNewEnv().withName("LIMIT").withValue(Integer.toString(limit)).endEnv()
                .withNewResources().withLimits(Map.of("cpu", new io.fabric8.kubernetes.api.model.Quantity("500m"),
                        "memory", new io.fabric8.kubernetes.api.model.Quantity("256Mi"))).endResources()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("disk").withMountPath("/disk").withReadOnly(true).endVolumeMount()
                .endContainer()
                .addNewVolume().withName("disk").withNewPersistentVolumeClaim().withClaimName(EnvironmentObjects.diskClaim(disk.id()))
                .withReadOnly(true).endPersistentVolumeClaim().endVolume();
        if (nodeName != null) {
            spec.withNodeSelector(Map.of("kubernetes.io/hostname", nodeName));
        }
        return spec.endSpec().build();
    }

    /** Reads what the script printed. */
    public static DiskListing parse(String log, int limit) {
        long total = 0;
        long count = 0;
        List<DiskListing.Entry> entries = new ArrayList<>();
        for (String line : log.split("\n")) {
            String[] f = line.split("\t", 5);
            if (f.length == 3 && f[0].equals("total")) {
                total = parseLong(f[1]);
                count = parseLong(f[2]);
                continue;
            }
            if (f.length < 5 || f[4].isEmpty() || entries.size() >= limit) {
                continue;
            }
            boolean dir = f[1].equals("directory");
            entries.add(new DiskListing.Entry(f[4], dir ? 0 : parseLong(f[2]), dir, Instant.ofEpochSecond(parseLong(f[3]))));
        }
        return new DiskListing(entries, count > entries.size(), total);
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
