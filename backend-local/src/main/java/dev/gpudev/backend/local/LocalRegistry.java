package dev.gpudev.backend.local;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code docker-registry} (the CNCF distribution registry) on 127.0.0.1, its images in a folder: the
 * platform's registry for builds on one machine (and the tests' registry). It keeps the port it had before when it
 * is free (built images are named by it) and is up once it answers the registry API.
 */
final class LocalRegistry implements AutoCloseable {
    private final Process process;
    private final int port;

    private LocalRegistry(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** Starts it with its images in {@code dir/storage}; its log in {@code dir/registry.log}. */
    static LocalRegistry start(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("storage"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path portFile = dir.resolve("port");
        int port = 0;
        try {
            port = Integer.parseInt(Files.readString(portFile).trim());
            try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                // free
            }
        } catch (IOException | NumberFormatException e) {
            port = 0;
        }
        if (port == 0) {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
        }
        Files.writeString(portFile, Integer.toString(port));
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                """.formatted(dir.resolve("storage"), port));
        ProcessBuilder pb = new ProcessBuilder(Sandbox.which("docker-registry"), "serve", config.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("registry.log").toFile()));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        LocalRegistry r = new LocalRegistry(pb.start(), port);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < until && r.process.isAlive()) {
            try {
                var resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (resp.statusCode() == 200) {
                    return r;
                }
            } catch (IOException notYet) {
                // below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        r.close();
        throw new IOException("the image registry did not start: " + Tools.tail(dir.resolve("registry.log"), 1000).strip());
    }

    /** "127.0.0.1:PORT". */
    String address() {
        return "127.0.0.1:" + port;
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
