package dev.gpudev.backend.local;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CNCF distribution registry (Debian's {@code docker-registry}) on 127.0.0.1, for tests of images, and
 * small images made offline with {@code umoci} from the host's static busybox. Stops with {@link #close}.
 */
public final class TestRegistry implements AutoCloseable {
    static final Path BUSYBOX = Path.of("/bin/busybox");
    private final Process process;
    public final int port;

    private TestRegistry(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** Why images cannot be tried here, or null when they can. */
    public static String missing() {
        for (String tool : List.of("bwrap", "skopeo", "umoci", "docker-registry")) {
            if (Sandbox.which(tool) == null) {
                return tool + " is not installed";
            }
        }
        if (!Files.isExecutable(BUSYBOX)) {
            return "a static busybox is not installed (busybox-static)";
        }
        return null;
    }

    public static TestRegistry start(Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dir.resolve("storage"));
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                """.formatted(dir.resolve("storage"), port));
        Process p = new ProcessBuilder(Sandbox.which("docker-registry"), "serve", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("registry.log").toFile()).start();
        TestRegistry r = new TestRegistry(p, port);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        Instant deadline = Instant.now().plusSeconds(20);
        while (true) {
            try {
                var resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (resp.statusCode() == 200) {
                    return r;
                }
            } catch (IOException notYet) {
                // below
            }
            if (!p.isAlive() || Instant.now().isAfter(deadline)) {
                r.close();
                throw new IllegalStateException("the registry did not start: " + Files.readString(dir.resolve("registry.log")));
            }
            Thread.sleep(50);
        }
    }

    /** "127.0.0.1:PORT". */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /**
     * An image of the host's static busybox (sh and the usual tools as links), these files, and this ENV,
     * pushed here as {@code NAME:TAG}; its reference.
     */
    public String pushBusybox(Path work, String nameAndTag, Map<String, String> files, Map<String, String> env) throws Exception {
        Path layout = work.resolve("layout-" + nameAndTag.replaceAll("[^a-z0-9]", "-"));
        Path bundle = work.resolve("bundle-" + nameAndTag.replaceAll("[^a-z0-9]", "-"));
        run("umoci", "init", "--layout", layout.toString());
        run("umoci", "new", "--image", layout + ":t");
        run("umoci", "unpack", "--rootless", "--image", layout + ":t", bundle.toString());
        Path rootfs = bundle.resolve("rootfs");
        Files.createDirectories(rootfs.resolve("bin"));
        Files.copy(BUSYBOX, rootfs.resolve("bin/busybox"));
        for (String tool : List.of("sh", "cat", "echo", "id", "ls", "env", "sleep", "touch", "test", "pwd", "stat", "mkdir", "printf", "wget", "true", "false")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(tool), Path.of("busybox"));
        }
        for (var f : files.entrySet()) {
            Path p = rootfs.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, f.getValue());
        }
        run("umoci", "repack", "--image", layout + ":t", bundle.toString());
        List<String> config = new ArrayList<>(List.of("umoci", "config", "--image", layout + ":t"));
        env.forEach((k, v) -> config.addAll(List.of("--config.env", k + "=" + v)));
        run(config.toArray(String[]::new));
        String ref = address() + "/" + nameAndTag;
        run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:" + layout + ":t", "docker://" + ref);
        return ref;
    }

    static void run(String... cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of(cmd));
        full.set(0, Sandbox.which(cmd[0]));
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
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
