package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.ImageBuild;
import dev.gpudev.store.MutableClock;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dockerfile builds on Kubernetes: a rootless BuildKit pod in the builds' namespace, driven through the simulated cluster. */
class KubernetesBuildsTest {
    @TempDir
    Path disks;
    SimulatedCluster cluster;
    KubernetesBackend backend;

    @BeforeEach
    void start() {
        cluster = SimulatedCluster.start(disks);
        cluster.addNode("cpu-1", "none", 0);
        backend = new KubernetesBackend(cluster.server.createClient(), KubernetesSettings.defaults().withBuildRegistry("registry.example.com:5000"),
                new MutableClock(Instant.now()));
    }

    @AfterEach
    void stop() {
        backend.close();
        cluster.close();
    }

    /** A context as the CLI sends it: a gzip'd tar with the Dockerfile. */
    static ImageBuild build(String dockerfile) throws Exception {
        byte[] content = dockerfile.getBytes(StandardCharsets.UTF_8);
        byte[] header = new byte[512];
        byte[] name = "Dockerfile".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(name, 0, header, 0, name.length);
        byte[] size = String.format("%011o", content.length).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(size, 0, header, 124, size.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(header);
            gz.write(content);
            gz.write(new byte[(512 - content.length % 512) % 512 + 1024]);
        }
        byte[] bytes = out.toByteArray();
        String hash = "sha256:" + dev.gpudev.core.Tokens.sha256Hex(bytes);
        return new ImageBuild(hash, bytes, 7, "alice");
    }

    @Test
    void aBuildIsARootlessBuildKitPodPushingToThePlatformsRegistryAndIsRemovedAfter() throws Exception {
        ImageBuild b = build("FROM nvcr.io/nvidia/pytorch:24.10-py3\nRUN pip install --user einops\n");
        var built = backend.build(b);
        assertEquals("registry.example.com:5000/gpudev/builds:" + b.tag(), built.image());
        assertTrue(built.log().contains("[2/2] RUN pip install --user einops") && built.log().contains("pushing layers"), built.log());
        assertNull(cluster.client.pods().inNamespace("gpu-dev-builds").withName(BuildPod.name(b)).get(), "its pod is removed after");
        assertNull(cluster.client.configMaps().inNamespace("gpu-dev-builds").withName(BuildPod.name(b)).get(), "and its context");

        Pod pod = BuildPod.pod(KubernetesSettings.defaults().withBuildRegistry("registry.example.com:5000"), b, false);
        assertEquals("gpu-dev-builds", pod.getMetadata().getNamespace(), "never in the environments' (restricted) namespace");
        var psc = pod.getSpec().getSecurityContext();
        assertTrue(psc.getRunAsNonRoot() && psc.getRunAsUser() == 1000L, "rootless");
        assertFalse(pod.getSpec().getAutomountServiceAccountToken(), "no service-account token");
        var buildkit = pod.getSpec().getContainers().getFirst();
        assertTrue(buildkit.getImage().endsWith("-rootless"), buildkit.getImage());
        assertFalse(Boolean.TRUE.equals(buildkit.getSecurityContext().getPrivileged()), "never privileged");
        assertEquals(List.of("ALL"), buildkit.getSecurityContext().getCapabilities().getDrop());
        assertTrue(buildkit.getArgs().contains("type=image,name=registry.example.com:5000/gpudev/builds:" + b.tag() + ",push=true"),
                buildkit.getArgs().toString());
        assertTrue(RestrictedPodsTest.violations(pod).stream().allMatch(v -> v.startsWith("buildkit: allowPrivilegeEscalation")
                        || v.startsWith("buildkit: seccomp") || v.contains("seccomp")),
                "beyond what rootless BuildKit needs (newuidmap), restricted: " + RestrictedPodsTest.violations(pod));
        assertEquals(List.of("tar", "-xzf", "/context/context.tar.gz", "-C", "/workspace"), pod.getSpec().getInitContainers().getFirst().getCommand());
    }

    @Test
    void aFailingStepFailsTheBuildWithThatStep() throws Exception {
        ImageBuild b = build("FROM busybox:1.37\nRUN echo about to fail && false\n");
        var e = assertThrows(ImageBuild.Failed.class, () -> backend.build(b));
        assertTrue(e.getMessage().startsWith("the build failed at [2/2] RUN echo about to fail && false: process"), e.getMessage());
        assertTrue(e.log().contains("did not complete successfully"), e.log());
    }

    @Test
    void withoutARegistryOrWithATooLargeContextABuildIsRefusedInWords() throws Exception {
        var none = new KubernetesBackend(cluster.server.createClient(), KubernetesSettings.defaults(), new MutableClock(Instant.now()));
        try {
            var e = assertThrows(BackendException.class, () -> none.build(build("FROM busybox\n")));
            assertFalse(e.isTransient());
            assertTrue(e.getMessage().contains("--image-registry"), e.getMessage());
        } finally {
            none.close();
        }
        var big = new ImageBuild("sha256:" + "1".repeat(64), new byte[BuildPod.MAX_CONTEXT + 1], 7, "alice");
        var e = assertThrows(ImageBuild.Failed.class, () -> backend.build(big));
        assertTrue(e.getMessage().startsWith("on Kubernetes a build's context is at most 900 KiB"), e.getMessage());
    }
}
