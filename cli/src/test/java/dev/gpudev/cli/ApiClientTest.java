package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's HTTP client against a real HTTP server on 127.0.0.1: what it sends, how answers become results or one-line errors. */
class ApiClientTest {
    record Seen(String method, String path, String authorization, String contentType, String body) {
    }

    private HttpServer server;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile int status = 200;
    private volatile String answer = "{\"ok\":true}";
    private volatile boolean chunked;
    private String url;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().toString(), ex.getRequestHeaders().getFirst("Authorization"),
                ex.getRequestHeaders().getFirst("Content-Type"), body));
        byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : chunked ? 0 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void sendsTheKeyAndAJsonBodyAndReadsTheJsonAnswer() {
        ApiClient api = new ApiClient(url, "gpudev_k");
        JsonNode got = api.post("/v1/jobs/submit", Map.of("gpu_type", "h100"));
        assertTrue(got.get("ok").asBoolean());
        api.get("/v1/jobs?limit=5");
        api.send(new ApiClient.Request("DELETE", "/v1/disks/d1"));
        assertEquals(new Seen("POST", "/v1/jobs/submit", "Bearer gpudev_k", "application/json", "{\"gpu_type\":\"h100\"}"), seen.get(0));
        assertEquals(new Seen("GET", "/v1/jobs?limit=5", "Bearer gpudev_k", null, ""), seen.get(1));
        assertEquals("DELETE", seen.get(2).method());
    }

    @Test
    void anErrorAnswerBecomesItsMessageWithExit2AndAServerErrorExit1() {
        status = 409;
        answer = "{\"error\":\"conflict\",\"message\":\"disk d1 is in use\"}";
        CliException e = assertThrows(CliException.class, () -> new ApiClient(url, "k").get("/v1/disks"));
        assertEquals(2, e.exitCode());
        assertEquals("disk d1 is in use", e.getMessage());
        status = 503;
        answer = "";
        CliException down = assertThrows(CliException.class, () -> new ApiClient(url, "k").get("/v1/disks"));
        assertEquals(1, down.exitCode());
        assertEquals("the gpudev API at " + url + " is unavailable right now (HTTP 503); this is usually brief (a restart, the database "
                + "reconnecting): try again in a moment", down.getMessage());
        answer = "<html><body>502 Bad Gateway</body></html>"; // a load balancer's page
        status = 502;
        CliException gateway = assertThrows(CliException.class, () -> new ApiClient(url, "k").get("/v1/disks"));
        assertTrue(gateway.getMessage().contains("is unavailable right now (HTTP 502)"), gateway.getMessage());
    }

    @Test
    void aRefusedKeyIsReplacedOnceAndTheRequestRepeated() {
        status = 401;
        answer = "{\"error\":\"unauthorized\",\"message\":\"API key expired\"}";
        ApiClient api = new ApiClient(url, "old").onUnauthorized(() -> {
            status = 200;
            answer = "{\"ok\":true}";
            return "fresh";
        });
        assertTrue(api.post("/v1/jobs/submit", null).get("ok").asBoolean());
        assertEquals(List.of("Bearer old", "Bearer fresh"), seen.stream().map(Seen::authorization).toList());
        assertEquals("{}", seen.get(1).body(), "the same request again");
    }

    @Test
    void aChunkedAnswerIsReadWhole() {
        chunked = true;
        StringBuilder big = new StringBuilder("{\"jobs\":[");
        for (int i = 0; i < 2000; i++) {
            big.append(i == 0 ? "" : ",").append("{\"job_id\":\"").append(i).append("\"}");
        }
        answer = big.append("]}").toString();
        JsonNode got = new ApiClient(url, "k").get("/v1/jobs");
        assertEquals(2000, got.get("jobs").size());
        assertEquals("1999", got.get("jobs").get(1999).get("job_id").asText());
    }

    @Test
    void httpsChecksTheCertificateAndTheHostName(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path store = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "api", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", "changeit").redirectErrorStream(true).start();
        assertEquals(0, keytool.waitFor());
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        var kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        javax.net.ssl.SSLContext serverSide = javax.net.ssl.SSLContext.getInstance("TLS");
        serverSide.init(kmf.getKeyManagers(), null, null);
        javax.net.ssl.SSLContext clientSide = javax.net.ssl.SSLContext.getInstance("TLS");
        clientSide.init(null, tmf.getTrustManagers(), null);
        var https = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(serverSide));
        https.createContext("/", this::handle);
        https.start();
        try {
            int port = https.getAddress().getPort();
            Http trusting = new Http(clientSide.getSocketFactory(), 5_000, 5_000);
            assertTrue(new ApiClient("https://localhost:" + port, "k", trusting).get("/v1/jobs").get("ok").asBoolean());
            assertEquals("Bearer k", seen.getLast().authorization());
            CliException wrongName = assertThrows(CliException.class,
                    () -> new ApiClient("https://127.0.0.1:" + port, "k", trusting).get("/v1/jobs"));
            assertTrue(wrongName.getMessage().contains("failed"), "the certificate names localhost, not 127.0.0.1: " + wrongName.getMessage());
            CliException untrusted = assertThrows(CliException.class, () -> new ApiClient("https://localhost:" + port, "k").get("/v1/jobs"));
            assertTrue(untrusted.getMessage().contains("failed"), "a certificate the JVM does not trust: " + untrusted.getMessage());
            assertEquals(1, seen.size(), "neither refused request reached the server");
        } finally {
            https.stop(0);
        }
    }

    @Test
    void noServerOrABadUrlIsOneLine() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        CliException e = assertThrows(CliException.class, () -> new ApiClient("http://127.0.0.1:" + closed, "k").get("/v1/jobs"));
        assertTrue(e.getMessage().startsWith("cannot reach the gpudev API at http://127.0.0.1:" + closed), e.getMessage());
        assertEquals(2, assertThrows(CliException.class, () -> new ApiClient("ftp://x", "k").get("/v1/jobs")).exitCode());
        assertEquals(2, assertThrows(CliException.class, () -> new ApiClient("http://a b", "k").get("/v1/jobs")).exitCode());
    }
}
