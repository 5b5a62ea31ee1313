package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Gang;
import dev.gpudev.core.BatchRun;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every pod the backend makes passes Kubernetes' "restricted" Pod Security Standard, which the chart's
 * environments namespace enforces: a pod that did not would be refused at admission, there.
 */
class RestrictedPodsTest {
    static final Set<String> VOLUMES = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
            "secret");

    /** What the "restricted" profile (v1.33) refuses in a pod, one line each. */
    static List<String> violations(Pod pod) {
        List<String> out = new ArrayList<>();
        var spec = pod.getSpec();
        var psc = spec.getSecurityContext();
        if (Boolean.TRUE.equals(spec.getHostNetwork()) || Boolean.TRUE.equals(spec.getHostPID()) || Boolean.TRUE.equals(spec.getHostIPC())) {
            out.add("a host namespace");
        }
        for (Volume v : spec.getVolumes() == null ? List.<Volume>of() : spec.getVolumes()) {
            var kinds = io.fabric8.kubernetes.client.utils.Serialization.jsonMapper().convertValue(v, java.util.Map.class).keySet();
            for (Object k : kinds) {
                if (!k.equals("name") && !VOLUMES.contains(k)) {
                    out.add("volume " + v.getName() + " of kind " + k);
                }
            }
        }
        boolean podNonRoot = psc != null && Boolean.TRUE.equals(psc.getRunAsNonRoot());
        boolean podSeccomp = psc != null && psc.getSeccompProfile() != null && Set.of("RuntimeDefault", "Localhost").contains(psc.getSeccompProfile().getType());
        List<Container> all = new ArrayList<>(spec.getContainers());
        if (spec.getInitContainers() != null) {
            all.addAll(spec.getInitContainers());
        }
        for (Container c : all) {
            var sc = c.getSecurityContext();
            if (sc == null || !Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
                out.add(c.getName() + ": allowPrivilegeEscalation is not false");
            }
            if (sc != null && Boolean.TRUE.equals(sc.getPrivileged())) {
                out.add(c.getName() + ": privileged");
            }
            if (sc == null || sc.getCapabilities() == null || sc.getCapabilities().getDrop() == null || !sc.getCapabilities().getDrop().contains("ALL")) {
                out.add(c.getName() + ": capabilities do not drop ALL");
            } else if (sc.getCapabilities().getAdd() != null && sc.getCapabilities().getAdd().stream().anyMatch(a -> !a.equals("NET_BIND_SERVICE"))) {
                out.add(c.getName() + ": adds capabilities");
            }
            if (!podNonRoot && (sc == null || !Boolean.TRUE.equals(sc.getRunAsNonRoot()))) {
                out.add(c.getName() + ": runAsNonRoot is not true");
            }
            if (!podSeccomp && (sc == null || sc.getSeccompProfile() == null)) {
                out.add(c.getName() + ": no seccomp profile");
            }
            if (c.getPorts() != null && c.getPorts().stream().anyMatch(p -> p.getHostPort() != null && p.getHostPort() != 0)) {
                out.add(c.getName() + ": a host port");
            }
        }
        return out;
    }

    @Test
    void everyPodTheBackendMakesIsRestricted() {
        var settings = KubernetesSettings.defaults();
        var owner = new EnvironmentSpec.Owner(7, "alice");
        UUID id = UUID.randomUUID();
        var run = new BatchRun(List.of("python", "train.py"), "proj", true);
        List<Pod> pods = List.of(
                EnvironmentObjects.pod(new EnvironmentSpec(id, "gpudev-a", 0, owner, "gpu-1", 8, List.of(), new EnvironmentSpec.Jupyter(8888, "t"),
                        new EnvironmentSpec.Home.Disk(new DiskRef(5, 7, "alice", "work")), null, new Gang(List.of("gpudev-a", "gpudev-a-n1")),
                        dev.gpudev.core.EnvVars.NONE, run), settings, null, null),
                EnvironmentObjects.pod(new EnvironmentSpec(id, "gpudev-b", 0, owner, "gpu-1", 1, List.of(), null, new EnvironmentSpec.Home.Scratch(),
                        "ghcr.io/acme/x:1", null), settings, null, null),
                DiskListingPod.pod(new DiskRef(5, 7, "alice", "work"), 100, settings, "gpu-1"));
        for (Pod p : pods) {
            assertEquals(List.of(), violations(p), p.getMetadata().getName());
        }
        // and the check finds what it should
        Pod bad = new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("bad").endMetadata().withNewSpec().withHostNetwork(true)
                .addNewVolume().withName("h").withNewHostPath().withPath("/").endHostPath().endVolume()
                .addNewContainer().withName("c").withImage("x").withNewSecurityContext().withPrivileged(true).endSecurityContext().endContainer()
                .endSpec().build();
        List<String> found = violations(bad);
        for (String expected : List.of("a host namespace", "volume h of kind hostPath", "c: privileged", "c: capabilities do not drop ALL",
                "c: runAsNonRoot is not true", "c: no seccomp profile", "c: allowPrivilegeEscalation is not false")) {
            org.junit.jupiter.api.Assertions.assertTrue(found.contains(expected), expected + " in " + found);
        }
    }
}
