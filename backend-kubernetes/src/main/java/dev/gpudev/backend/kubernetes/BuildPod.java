package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.ImageBuild;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Dockerfile build on Kubernetes: rootless BuildKit in a pod of the builds' namespace (its own, PodSecurity
 * "baseline": rootless BuildKit needs user namespaces, never a privileged pod), as uid 1000 with no service
 * account token, its context from a ConfigMap unpacked by an init container, its image pushed to the
 * platform's registry as {@code gpudev/builds:sha256-HEX}. The namespace's NetworkPolicy (the chart's) lets it
 * reach DNS and registries only.
 */
public final class BuildPod {
    public static final String COMPONENT = "image-build";
    /** A ConfigMap holds at most 1 MiB: the context travels in one. */
    public static final int MAX_CONTEXT = 900 * 1024;

    private BuildPod() {
    }

    public static String name(ImageBuild b) {
        return "gpudev-build-" + b.hash().substring("sha256:".length(), "sha256:".length() + 16);
    }

    /** The image a build makes. */
    public static String image(KubernetesSettings settings, ImageBuild b) {
        return settings.buildRegistry() + "/gpudev/builds:" + b.tag();
    }

    private static Map<String, String> labels(ImageBuild b) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(EnvironmentObjects.MANAGED_BY, EnvironmentObjects.OURS);
        labels.put(EnvironmentObjects.COMPONENT, COMPONENT);
        labels.put("gpudev.dev/build", b.tag().substring(0, 23));
        return labels;
    }

    public static ConfigMap context(KubernetesSettings settings, ImageBuild b) {
        return new ConfigMapBuilder().withNewMetadata().withName(name(b)).withNamespace(settings.buildNamespace()).withLabels(labels(b))
                .endMetadata().withBinaryData(Map.of("context.tar.gz", Base64.getEncoder().encodeToString(b.context()))).build();
    }

    public static Pod pod(KubernetesSettings settings, ImageBuild b, boolean insecureRegistry) {
        String output = "type=image,name=" + image(settings, b) + ",push=true" + (insecureRegistry ? ",registry.insecure=true" : "");
        return new PodBuilder().withNewMetadata().withName(name(b)).withNamespace(settings.buildNamespace()).withLabels(labels(b))
                .endMetadata()
                .withNewSpec().withRestartPolicy("Never").withAutomountServiceAccountToken(false).withEnableServiceLinks(false)
                .withActiveDeadlineSeconds(1800L)
                .withImagePullSecrets(settings.imagePullSecrets().stream().map(n -> new io.fabric8.kubernetes.api.model.LocalObjectReference(n)).toList())
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(1000L).withRunAsGroup(1000L).withFsGroup(1000L).endSecurityContext()
                .addNewInitContainer().withName("context").withImage(settings.utilityImage())
                .withCommand("tar", "-xzf", "/context/context.tar.gz", "-C", "/workspace")
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withNewCapabilities().withDrop("ALL").endCapabilities()
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewVolumeMount().withName("context").withMountPath("/context").withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("workspace").withMountPath("/workspace").endVolumeMount()
                .endInitContainer()
                .addNewContainer().withName("buildkit").withImage(KubernetesSettings.BUILDKIT_IMAGE)
                .withCommand("buildctl-daemonless.sh").withTerminationMessagePolicy("FallbackToLogsOnError")
                .withArgs(List.of("build", "--frontend", "dockerfile.v0", "--local", "context=/workspace", "--local", "dockerfile=/workspace",
                        "--output", output, "--progress", "plain"))
                // no process sandbox: no pid namespace of its own inside, so it needs no unconfined seccomp or AppArmor
                .addNewEnv().withName("BUILDKITD_FLAGS").withValue("--oci-worker-no-process-sandbox").endEnv()
                .withNewResources().withRequests(Map.of("cpu", new Quantity("1"), "memory", new Quantity("2Gi")))
                .withLimits(Map.of("cpu", new Quantity("4"), "memory", new Quantity("8Gi"), "ephemeral-storage", new Quantity("50Gi")))
                .endResources()
                // newuidmap (the user namespace's mapping) is set-uid: escalation stays allowed here, nothing else is
                .withNewSecurityContext().withPrivileged(false).withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("workspace").withMountPath("/workspace").withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("buildkit").withMountPath("/home/user/.local/share/buildkit").endVolumeMount()
                .endContainer()
                .addNewVolume().withName("context").withNewConfigMap().withName(name(b)).endConfigMap().endVolume()
                .addNewVolume().withName("workspace").withNewEmptyDir().withSizeLimit(new Quantity("2Gi")).endEmptyDir().endVolume()
                .addNewVolume().withName("buildkit").withNewEmptyDir().withSizeLimit(new Quantity("50Gi")).endEmptyDir().endVolume()
                .endSpec().build();
    }

    /** "the build failed at [2/3] RUN false: exit code: 1", from BuildKit's plain progress. */
    public static String failedStep(String log, String fallback) {
        String step = null;
        String error = null;
        for (String line : log.split("\n")) {
            String l = line.strip();
            var m = java.util.regex.Pattern.compile("^#\\d+ (\\[[^\\]]*\\d+/\\d+\\] .*)$").matcher(l);
            if (m.matches()) {
                step = m.group(1);
            }
            if (l.startsWith("ERROR: ") || l.startsWith("error: ")) {
                error = l.replaceFirst("^(ERROR|error): ", "");
            }
        }
        String why = error == null ? fallback : error.replaceFirst("^failed to solve: ", "");
        if (step == null) {
            return "the build failed: " + why;
        }
        return "the build failed at " + (step.length() > 200 ? step.substring(0, 200) + "…" : step) + ": " + why;
    }
}
