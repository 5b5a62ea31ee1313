package dev.gpudev.server;

import dev.gpudev.backend.kubernetes.KubernetesSettings;

import java.nio.file.Path;

/**
 * Everything `gpu-dev server` is told, after flags and environment variables are resolved.
 *
 * @param role        which part of the platform this process runs: all of it, or the API, the processor or the SSH proxy
 * @param proxyHost   where users reach the SSH proxy (told by the API); the proxy's own process listens on sshPort
 * @param proxyPort   the proxy's port users reach (a load balancer's, in front of the proxy Deployment)
 * @param sshHostKey  the proxy's host key file (shared by its replicas), else one in the data dir
 * @param kubernetes  the Kubernetes backend's settings, and where its cluster is
 */
public record ServerConfig(int port, int sshPort, String advertisedHost, Path dataDir, String databaseUrl,
                           String databaseUser, String databasePassword, String backend, String simulatedGpus,
                           String queueName, dev.gpudev.processor.ProcessorSettings processor,
                           dev.gpudev.core.QueueLimits queueLimits, java.time.Duration apiKeyTtl,
                           boolean insecureSingleUser, Role role, String proxyHost, int proxyPort, Path sshHostKey, Kubernetes kubernetes,
                           dev.gpudev.backend.local.LocalBackend.Settings local) {

    /** The parts of the platform one process can run. */
    public enum Role {
        all, api, processor, proxy;

        boolean runsApi() {
            return this == all || this == api;
        }

        boolean runsProcessor() {
            return this == all || this == processor;
        }

        boolean runsProxy() {
            return this == all || this == proxy;
        }
    }

    /** The cluster (a kubeconfig file and context, else the in-cluster service account or ~/.kube/config) and how to use it. */
    public record Kubernetes(Path kubeconfig, String context, KubernetesSettings settings) {
    }

    public ServerConfig(int port, int sshPort, String advertisedHost, Path dataDir, String databaseUrl, String databaseUser,
                        String databasePassword, String backend, String simulatedGpus, String queueName,
                        dev.gpudev.processor.ProcessorSettings processor, java.time.Duration apiKeyTtl, boolean insecureSingleUser) {
        this(port, sshPort, advertisedHost, dataDir, databaseUrl, databaseUser, databasePassword, backend, simulatedGpus, queueName, processor,
                dev.gpudev.core.QueueLimits.none(), apiKeyTtl, insecureSingleUser, Role.all, advertisedHost, -1, null,
                new Kubernetes(null, null, KubernetesSettings.defaults()), dev.gpudev.backend.local.LocalBackend.Settings.defaults());
    }

    /** Data dir: the flag, else $GPUDEV_HOME, else ~/.gpudev/server. */
    static Path defaultDataDir() {
        String home = System.getenv("GPUDEV_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home);
        }
        return Path.of(System.getProperty("user.home"), ".gpudev", "server");
    }
}
