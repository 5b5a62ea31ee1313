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

    @Override
    public Backend create() throws IOException {
        Config config = kubeconfig != null ? Config.fromKubeconfig(context, Files.readString(kubeconfig), kubeconfig.toString())
                : Config.autoConfigure(context);
        return new KubernetesBackend(new KubernetesClientBuilder().withConfig(config).build(), settings, clock);
    }
}
