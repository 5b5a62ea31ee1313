package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendContract;
import dev.gpudev.backend.spi.DiskRef;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/** The Kubernetes backend keeps the contract every backend keeps, against the simulated cluster. */
class KubernetesBackendContractTest extends BackendContract {
    @TempDir
    Path disks;
    SimulatedCluster cluster;

    @Override
    protected Backend newBackend() {
        cluster = SimulatedCluster.start(disks);
        cluster.addNode("gpu-node-1", "h100", 8);
        return new KubernetesBackend(cluster.server.createClient(), KubernetesSettings.defaults(), Clock.systemUTC());
    }

    @Override
    protected void afterBackend() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    protected void putOnDisk(DiskRef disk, String path, String content) throws Exception {
        // As an environment using the disk would have left it: its claim exists, its files are on it.
        String claim = EnvironmentObjects.diskClaim(disk.id());
        if (cluster.client.persistentVolumeClaims().inNamespace("gpu-dev").withName(claim).get() == null) {
            cluster.client.resource(EnvironmentObjects.claim(claim, KubernetesSettings.defaults(), Map.of())).inNamespace("gpu-dev").create();
        }
        Path file = cluster.claimDir(claim).resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    @Override
    protected boolean accepts(String name, String publicKey) {
        Secret s = cluster.client.secrets().inNamespace("gpu-dev").withName(EnvironmentObjects.keysSecret(name)).get();
        String keys = s.getData() != null && s.getData().containsKey("authorized_keys")
                ? new String(Base64.getDecoder().decode(s.getData().get("authorized_keys")), StandardCharsets.UTF_8)
                : s.getStringData().get("authorized_keys");
        return keys.lines().anyMatch(publicKey::equals);
    }

    @Override
    protected Map<String, String> notices(String name) {
        ConfigMap root = cluster.client.configMaps().inNamespace("gpu-dev").withName(name).get();
        Map<String, String> out = new HashMap<>();
        root.getData().forEach((k, v) -> {
            if (k.startsWith(EnvironmentObjects.NOTICE_PREFIX)) {
                out.put(k.substring(EnvironmentObjects.NOTICE_PREFIX.length()), v);
            }
        });
        return out;
    }
}
