package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendFactory;
import dev.gpudev.core.BackendTraits;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** A cluster's environments: pods, isolated by their own kernels' namespaces and the cluster's network policy. */
public final class KubernetesBackendFactory implements BackendFactory {
    private final Path kubeconfig;
    private final String context;
    private final KubernetesSettings settings;
    private final Clock clock;

    /** @param kubeconfig a kubeconfig file, or null for the in-cluster service account, $KUBECONFIG or ~/.kube/config */
    public KubernetesBackendFactory(Path kubeconfig, String context, KubernetesSettings settings, Clock clock) {
        this.kubeconfig = kubeconfig;
        this.context = context;
        this.settings = settings;
        this.clock = clock;
    }

    static BackendTraits traits(KubernetesSettings settings) {
        return new BackendTraits("kubernetes", true, settings.loginUser());
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public BackendTraits traits() {
        return traits(settings);
    }

    /** How long the first contact with the API server may take before the start fails, saying where it looked. */
    static final int PROBE_MILLIS = 4_000;

    @Override
    public Backend create() throws IOException {
        Config config = kubeconfig != null ? Config.fromKubeconfig(context, Files.readString(kubeconfig), kubeconfig.toString())
                : Config.autoConfigure(context);
        probe(config);
        return new KubernetesBackend(new KubernetesClientBuilder().withConfig(config).build(), settings, clock);
    }

    /**
     * One short request before anything starts: a cluster that is not there is a message within seconds
     * that names the API server and where its address came from, not minutes of retries and a stack trace.
     */
    private void probe(Config config) throws IOException {
        Config quick = new io.fabric8.kubernetes.client.ConfigBuilder(config).withConnectionTimeout(PROBE_MILLIS)
                .withRequestTimeout(PROBE_MILLIS).withRequestRetryBackoffLimit(0).build();
        try (var client = new KubernetesClientBuilder().withConfig(quick).build()) {
            client.getKubernetesVersion();
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String why = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
            throw new IOException("cannot reach the Kubernetes API server at " + config.getMasterUrl() + " (from " + source() + "): " + why
                    + ". Check --kubeconfig and --context, or run the processor in the cluster (its service account)");
        }
    }

    /** Where the API server's address came from. */
    private String source() {
        if (kubeconfig != null) {
            return "--kubeconfig " + kubeconfig + (context == null ? "" : ", context " + context);
        }
        if (System.getenv("KUBERNETES_SERVICE_HOST") != null) {
            return "the in-cluster service account";
        }
        String env = System.getenv("KUBECONFIG");
        return (env != null ? "$KUBECONFIG " + env : "~/.kube/config") + (context == null ? "" : ", context " + context);
    }
}
