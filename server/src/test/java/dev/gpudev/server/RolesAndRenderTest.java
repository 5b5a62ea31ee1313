package dev.gpudev.server;

import dev.gpudev.core.ValidationException;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server's parts (--role) and render, as an operator meets them. */
class RolesAndRenderTest {
    @TempDir
    Path dir;

    ServerConfig config(String... args) {
        var main = new Main();
        main.env = Map.of();
        new picocli.CommandLine(main).parseArgs(args);
        return main.config();
    }

    @Test
    void aPartOfThePlatformNeedsTheDatabaseItShares() {
        var e = assertThrows(ValidationException.class, () -> config("--role", "api", "--data-dir", dir.toString()));
        assertTrue(e.getMessage().contains("--database-url"), e.getMessage());
        var cfg = config("--role", "processor", "--backend", "kubernetes", "--database-url", "postgresql://u:p@db:5432/gpudev",
                "--namespace", "gpus", "--storage-class", "gp3", "--data-dir", dir.toString());
        assertEquals(ServerConfig.Role.processor, cfg.role());
        assertEquals("gpus", cfg.kubernetes().settings().namespace());
        assertEquals("gp3", cfg.kubernetes().settings().storageClass());
        assertTrue(assertThrows(ValidationException.class, () -> config("--role", "cook", "--data-dir", dir.toString()))
                .getMessage().contains("all, api, processor or proxy"));
        assertTrue(assertThrows(ValidationException.class, () -> config("--backend", "kubernetes", "--simulated-gpus", "h100:8",
                "--data-dir", dir.toString())).getMessage().contains("cluster's nodes"));
        assertTrue(assertThrows(ValidationException.class, () -> config("--backend", "slurm", "--data-dir", dir.toString()))
                .getMessage().contains("one of [kubernetes, local]"));
    }

    List<HasMetadata> render(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertEquals(0, Main.commandLine().execute(args));
        } finally {
            System.setOut(old);
        }
        List<HasMetadata> objects = new ArrayList<>();
        for (String doc : buf.toString(StandardCharsets.UTF_8).split("(?m)^---$")) {
            if (doc.contains("kind:")) {
                objects.add(Serialization.unmarshal(doc));
            }
        }
        return objects;
    }

    @Test
    void renderPrintsTheObjectsAReservationWouldGetWithoutACluster() {
        List<HasMetadata> one = render("render", "--gpu-type", "h100", "--gpus", "2", "--hours", "4", "--user", "alice", "--disk", "work",
                "--jupyter");
        assertEquals(List.of("ConfigMap", "PersistentVolumeClaim", "Secret", "Service", "Pod"), one.stream().map(HasMetadata::getKind).toList());
        Pod pod = (Pod) one.get(4);
        assertEquals("NODE-0", pod.getSpec().getNodeSelector().get("kubernetes.io/hostname"));
        assertEquals("2", pod.getSpec().getContainers().getFirst().getResources().getLimits().get("nvidia.com/gpu").getAmount());
        assertEquals("gpudev-disk-0", pod.getSpec().getVolumes().getFirst().getPersistentVolumeClaim().getClaimName());
        assertTrue(((Service) one.get(3)).getSpec().getPorts().stream().anyMatch(p -> p.getPort() == 8888), "Jupyter's port");
        List<HasMetadata> big = render("render", "--gpu-type", "h100", "--gpus", "16", "--distributed", "--user", "alice");
        assertEquals(2, big.stream().filter(o -> o instanceof Pod).count(), "two whole nodes");
        assertEquals(1, big.stream().filter(o -> o instanceof Service && o.getMetadata().getName().endsWith("-peers")).count(),
                "one rendezvous service");
        assertEquals(1, big.stream().filter(o -> o.getKind().equals("NetworkPolicy")).count(), "and its nodes' own network rule");
        Pod node1 = (Pod) big.stream().filter(o -> o instanceof Pod && o.getMetadata().getName().endsWith("-n1")).findFirst().orElseThrow();
        assertTrue(node1.getSpec().getContainers().getFirst().getEnv().stream().anyMatch(e -> e.getName().equals("NODE_RANK")
                && e.getValue().equals("1")));
        assertEquals(2, Main.commandLine().execute("render", "--gpu-type", "h100", "--gpus", "12", "--user", "alice"),
                "more than a node without --distributed");
    }
}
