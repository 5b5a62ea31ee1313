package dev.gpudev.backend.kubernetes;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A cluster that is not there is said within seconds, with the API server and where its address came from. */
class KubernetesBackendFactoryTest {
    @Test
    void anUnreachableApiServerIsNamedWithItsKubeconfigWithinSeconds(@TempDir Path dir) throws IOException {
        Path kubeconfig = dir.resolve("config");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
                users: [{name: me, user: {token: abc}}]
                contexts: [{name: gone, context: {cluster: gone, user: me}}]
                current-context: gone
                """);
        var factory = new KubernetesBackendFactory(kubeconfig, null, KubernetesSettings.defaults(), Clock.systemUTC());
        long t0 = System.nanoTime();
        var e = assertThrows(IOException.class, factory::create);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "said within 10 s, not after minutes of retries: " + took);
        assertTrue(e.getMessage().startsWith("cannot reach the Kubernetes API server at https://127.0.0.1:1/ (from --kubeconfig " + kubeconfig),
                e.getMessage());
    }

    @Test
    void aReachableClusterStartsTheBackend(@TempDir Path dir) throws Exception {
        try (SimulatedCluster cluster = SimulatedCluster.start(dir.resolve("disks"))) {
            var backend = new KubernetesBackendFactory(cluster.kubeconfig(dir.resolve("config")), null, KubernetesSettings.defaults(),
                    Clock.systemUTC()).create();
            assertNotNull(backend);
            backend.close();
        }
    }
}
