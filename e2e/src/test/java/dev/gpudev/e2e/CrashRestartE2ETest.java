package dev.gpudev.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kills the whole server (SIGKILL: no shutdown hooks) at several points while reservations are being
 * provisioned, restarts it on the same data dir, and checks that nothing is lost or made twice.
 */
class CrashRestartE2ETest {
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();
    Process server;
    Path log;
    Path dataDir;

    @AfterEach
    void stop() throws Exception {
        Proc.stopServer(server, dataDir);
        if (dataDir != null) {
            assertEquals(0, Proc.processesOf(dataDir, "slirp4netns"), "no network helper left behind");
        }
    }

    void start(Path dataDir, int apiPort, int sshPort) throws Exception {
        log = dataDir.resolveSibling("server-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar"),
                "--port", Integer.toString(apiPort), "--ssh-port", Integer.toString(sshPort),
                "--data-dir", dataDir.toString(), "--simulated-gpus", "h100:8x2")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("LOG_FORMAT", "json");
        server = pb.start();
        Proc.awaitRunning(server, log, "server");
    }

    JsonNode call(String base, String method, String path, String key, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        var res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        // A polling client is rate limited like any other (20 requests/s per key): it waits as told and asks again.
        for (int tries = 0; res.statusCode() == 429 && tries < 10; tries++) {
            Thread.sleep(1000L * Long.parseLong(res.headers().firstValue("Retry-After").orElse("1")));
            res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }
        assertTrue(res.statusCode() < 300, res.statusCode() + " " + res.body());
        return JSON.readTree(res.body());
    }

    @Test
    void killingTheServerDuringProvisioningNeverLosesOrDuplicatesAReservation() throws Exception {
        Path root = Files.createTempDirectory("gpudev-crash");
        dataDir = root.resolve("data");
        int apiPort = Proc.freePort();
        int sshPort = Proc.freePort();
        String base = "http://127.0.0.1:" + apiPort;
        start(dataDir, apiPort, sshPort);
        String token = Files.readString(dataDir.resolve("admin-token")).trim();
        String key = call(base, "POST", "/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}").get("api_key").asText();
        call(base, "POST", "/v1/ssh-keys", key, "{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ t\"}");

        List<String> ids = new ArrayList<>();
        long[] killAfterMillis = {0, 5, 20, 60, 150, 400};
        for (long delay : killAfterMillis) {
            for (int i = 0; i < 2; i++) {
                ids.add(call(base, "POST", "/v1/jobs/submit", key,
                        "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":2}").get("job_id").asText());
            }
            Thread.sleep(delay);
            server.destroyForcibly().waitFor();
            start(dataDir, apiPort, sshPort);
        }

        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        List<JsonNode> jobs;
        while (true) {
            jobs = new ArrayList<>();
            for (String id : ids) {
                jobs.add(call(base, "GET", "/v1/jobs/" + id, key, null));
            }
            if (jobs.stream().allMatch(j -> "active".equals(j.get("status").asText()))) {
                break;
            }
            if (Instant.now().isAfter(deadline)) {
                fail("not all reservations became active: " + jobs.stream().map(j -> j.get("status").asText()).toList());
            }
            Thread.sleep(500);
        }
        Set<Integer> ports = new HashSet<>();
        Set<String> gpus = new HashSet<>();
        for (JsonNode j : jobs) {
            long actives = 0;
            for (JsonNode h : j.get("status_history")) {
                actives += "active".equals(h.get("status").asText()) ? 1 : 0;
            }
            assertEquals(1, actives, "became active exactly once: " + j);
            ports.add(j.get("connection").get("port").asInt());
            gpus.add(j.get("node").asText() + ":" + j.get("gpus").get(0).asInt());
        }
        assertEquals(ids.size(), ports.size(), "one SSH endpoint per reservation");
        assertEquals(ids.size(), gpus.size(), "no GPU given twice");
        for (int port : ports) {
            assertTrue(Proc.listening(port), "endpoint " + port + " is up after the restarts");
        }
        try (var envs = Files.list(dataDir.resolve("environments"))) {
            assertEquals(ids.size(), envs.count(), "one environment directory per reservation");
        }
        // Environments outlive the server (where it may give them control groups): killed once more, the
        // next server takes the same boxes over, and no network helper is left over or doubled.
        Map<String, String> boxes = boxInits(dataDir);
        if (!boxes.isEmpty()) {
            assertEquals(ids.size(), boxes.size(), "every environment's box is recorded");
            server.destroyForcibly().waitFor();
            assertTrue(boxes.values().stream().allMatch(pid -> ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)),
                    "the boxes run on while no server does");
            start(dataDir, apiPort, sshPort);
            for (int port : ports) {
                Instant until = Instant.now().plus(Duration.ofSeconds(30));
                while (!Proc.listening(port) && Instant.now().isBefore(until)) {
                    Thread.sleep(100);
                }
                assertTrue(Proc.listening(port), "endpoint " + port + " listens again on the same port");
            }
            assertEquals(boxes, boxInits(dataDir), "the same boxes, taken over");
            if (dev.gpudev.backend.local.Sandbox.which("slirp4netns") != null) {
                assertEquals(ids.size(), Proc.processesOf(dataDir, "slirp4netns"), "one network helper per environment");
            }
        }
        // LOG_FORMAT=json: every log line is a JSON object, and API log lines carry the request id.
        call(base, "POST", "/v1/jobs/" + ids.getFirst() + "/cancel", key, null);
        long withRequestId = 0;
        Instant until = Instant.now().plus(Duration.ofSeconds(10));
        while (withRequestId == 0 && Instant.now().isBefore(until)) {
            for (String line : Files.readAllLines(log)) {
                if (line.isBlank() || !line.startsWith("{")) {
                    continue; // the start-up banner on stdout is for people
                }
                JsonNode entry = JSON.readTree(line);
                assertTrue(entry.has("level") && entry.has("message"), line);
                withRequestId += entry.path("mdc").has("request_id") ? 1 : 0;
            }
            if (withRequestId == 0) {
                Thread.sleep(100);
            }
        }
        assertTrue(withRequestId > 0, "API log lines name their request");
    }

    /** Each environment's box, by its first process (as recorded for a restarted server to take it over). */
    static Map<String, String> boxInits(Path dataDir) throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        try (var envs = Files.list(dataDir.resolve("environments"))) {
            for (Path env : envs.toList()) {
                Path state = env.resolve("box.state");
                if (Files.exists(state)) {
                    var p = new java.util.Properties();
                    try (var in = Files.newInputStream(state)) {
                        p.load(in);
                    }
                    out.put(env.getFileName().toString(), p.getProperty("init"));
                }
            }
        }
        return out;
    }
}
