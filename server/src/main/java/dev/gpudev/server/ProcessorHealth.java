package dev.gpudev.server;

import com.sun.net.httpserver.HttpServer;
import dev.gpudev.processor.Processor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A processor of its own (--role processor) answers GET /health on the API's port, for Kubernetes' probes:
 * 200 while its loop comes round (leading or standing by), 503 once it has not for {@link #STUCK_AFTER} (a loop
 * stuck anywhere: the kubelet restarts it). Nothing else is served; it says nothing but the loop's age.
 */
final class ProcessorHealth implements AutoCloseable {
    static final Duration STUCK_AFTER = Duration.ofMinutes(2);
    private final HttpServer server;

    ProcessorHealth(Processor processor, String bind, int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(bind, port), 16);
        server.createContext("/", ex -> {
            try (ex) {
                boolean health = ex.getRequestURI().getPath().equals("/health") && ex.getRequestMethod().equals("GET");
                Duration age = processor.sinceLastTurn();
                int status = !health ? 404 : age.compareTo(STUCK_AFTER) < 0 ? 200 : 503;
                String body = !health ? "{\"error\":\"not_found\",\"message\":\"a processor serves /health only\"}"
                        : "{\"status\":\"" + (status == 200 ? "ok" : "stuck") + "\",\"leading\":" + processor.leading()
                        + ",\"last_turn_ms_ago\":" + age.toMillis() + "}";
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(status, bytes.length);
                ex.getResponseBody().write(bytes);
            }
        });
        server.setExecutor(java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofVirtual().name("processor-health").factory()));
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
