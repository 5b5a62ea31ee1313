package dev.gpudev.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gpudev.backend.kubernetes.SimulatedCluster;
import dev.gpudev.core.SshPublicKey;
import dev.gpudev.store.EmbeddedPostgres;
import dev.gpudev.store.TestDatabase;
import io.fabric8.kubernetes.api.model.Secret;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.shell.ProcessShellCommandFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The platform as it runs on Kubernetes: the API, the processor and the SSH proxy as three processes of
 * the real server jar on one PostgreSQL, against a simulated cluster (fabric8's mock API server and a
 * simulated kubelet). The CLI reserves, the processor makes a pod, the proxy lets the user's own ssh
 * through to it (the test's SSH server stands in for the pod's sshd, reached at its Service's address,
 * and lets in only the keys of the reservation's Secret), and cancel removes it. The API process has no
 * way to the cluster at all: it never needs one.
 */
class KubernetesRolesE2ETest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static Path root;
    static SimulatedCluster cluster;
    static SshServer podSshd;
    static final List<Process> parts = new ArrayList<>();
    static String apiUrl;
    static int proxyPort;
    static Path apiData;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createTempDirectory("gpudev-k8s-e2e");
        cluster = SimulatedCluster.start(Files.createDirectories(root.resolve("disks")));
        cluster.addNode("gpu-node-1", "h100", 8);
        cluster.addNode("gpu-node-2", "h100", 8);
        Path kubeconfig = cluster.kubeconfig(root.resolve("kubeconfig"));
        podSshd = podSshd();
        cluster.routeAll("127.0.0.1", podSshd.getPort());

        EmbeddedPostgres pg = TestDatabase.server();
        pg.createDatabase("k8s_e2e");
        String db = pg.jdbcUrl("k8s_e2e") + "&user=" + pg.appUser() + "&password=" + pg.appPassword();
        int apiPort = Proc.freePort();
        proxyPort = Proc.freePort();
        apiUrl = "http://127.0.0.1:" + apiPort;
        apiData = root.resolve("api");
        start("processor", List.of("--role", "processor", "--backend", "kubernetes", "--kubeconfig", kubeconfig.toString(),
                "--database-url", db, "--data-dir", root.resolve("processor").toString()));
        start("api", List.of("--role", "api", "--backend", "kubernetes", "--database-url", db, "--port", Integer.toString(apiPort),
                "--proxy-host", "127.0.0.1", "--proxy-port", Integer.toString(proxyPort), "--data-dir", apiData.toString()));
        start("proxy", List.of("--role", "proxy", "--database-url", db, "--ssh-port", Integer.toString(proxyPort),
                "--data-dir", root.resolve("proxy").toString()));
    }

    static void start(String role, List<String> args) throws Exception {
        Path log = root.resolve(role + ".log");
        List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar")));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("KUBECONFIG");
        pb.environment().put("HOME", root.resolve(role + "-home").toString()); // no ~/.kube/config to fall back on
        Process p = pb.start();
        parts.add(p);
        Proc.awaitRunning(p, log, role);
    }

    /** The pod's sshd, as the test has it: lets in user dev with a key of the reservation's Secret, and runs commands. */
    static SshServer podSshd() throws Exception {
        SshServer s = SshServer.setUpDefaultServer();
        s.setHost("127.0.0.1");
        s.setPort(0);
        s.setKeyPairProvider(new SimpleGeneratorHostKeyProvider(root.resolve("pod_host_key")));
        s.setPublickeyAuthenticator((user, key, session) -> {
            if (!"dev".equals(user)) {
                return false;
            }
            String fp = SshPublicKey.parse(PublicKeyEntry.toString(key)).fingerprint();
            for (Secret secret : cluster.client.secrets().inNamespace("gpu-dev").list().getItems()) {
                String keys = secret.getData() != null && secret.getData().get("authorized_keys") != null
                        ? new String(Base64.getDecoder().decode(secret.getData().get("authorized_keys")), StandardCharsets.UTF_8)
                        : secret.getStringData() == null ? "" : secret.getStringData().getOrDefault("authorized_keys", "");
                for (String line : keys.lines().toList()) {
                    if (!line.isBlank() && SshPublicKey.parse(line).fingerprint().equals(fp)) {
                        return true;
                    }
                }
            }
            return false;
        });
        s.setCommandFactory(new ProcessShellCommandFactory());
        s.start();
        return s;
    }

    @AfterAll
    static void stop() throws Exception {
        for (Process p : parts) {
            p.destroy();
        }
        for (Process p : parts) {
            p.waitFor();
        }
        if (podSshd != null) {
            podSshd.stop(true);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static Proc cli(Path home, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-jar", Proc.jar("cli", "gpudev-cli.jar")));
        cmd.addAll(List.of(args));
        return Proc.run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", apiUrl), cmd);
    }

    @Test
    void aReservationBecomesAPodTheUsersOwnSshReachesThroughTheProxyAndCancelRemovesIt() throws Exception {
        Path alice = Proc.newHome(root, "alice");
        Proc login = cli(alice, "login", "--token-file", apiData.resolve("admin-token").toString());
        assertEquals(0, login.exit(), login.out());
        Proc avail = cli(alice, "avail", "-o", "json");
        assertEquals(0, avail.exit(), avail.out());
        assertEquals(16, JSON.readTree(avail.out()).get(0).get("total").asInt(), "the cluster's GPUs, published by the processor: " + avail.out());

        Proc reserve = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "2", "--hours", "1", "--name", "train", "--wait");
        assertEquals(0, reserve.exit(), reserve.out());
        JsonNode job = JSON.readTree(cli(alice, "show", "train", "-o", "json").out());
        assertEquals("active", job.get("status").asText());
        assertEquals("dev", job.get("connection").get("user").asText(), "environments let in the image's user");
        String env = dev.gpudev.core.Reservation.environmentName(java.util.UUID.fromString(job.get("job_id").asText()));
        var pod = cluster.client.pods().inNamespace("gpu-dev").withName(env).get();
        assertEquals(job.get("node").asText(), pod.getSpec().getNodeSelector().get("kubernetes.io/hostname"), "on the node the scheduler chose");

        // Through the proxy process, with the user's own OpenSSH, into the "pod".
        Proc run = cli(alice, "connect", "train", "--", "echo", "hello-from-the-pod");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("hello-from-the-pod"), run.out());

        Proc cancel = cli(alice, "cancel", "train");
        assertEquals(0, cancel.exit(), cancel.out());
        Instant deadline = Instant.now().plusSeconds(20);
        while (cluster.client.pods().inNamespace("gpu-dev").withName(env).get() != null && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertNull(cluster.client.pods().inNamespace("gpu-dev").withName(env).get(), "the pod is gone");
        assertNull(cluster.client.services().inNamespace("gpu-dev").withName(env).get(), "and its Service");
    }
}
