package dev.gpudev.backend.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The platform's {@link LocalRegistry} on 127.0.0.1, for tests of images, and small images made offline with
 * {@code umoci} from the host's static busybox. Stops with {@link #close}.
 */
public final class TestRegistry implements AutoCloseable {
    static final Path BUSYBOX = Path.of("/bin/busybox");
    private final LocalRegistry registry;
    /** A folder of its own (its images, the images it makes), removed with it; null when the caller's. */
    private final Path temp;

    private TestRegistry(LocalRegistry registry, Path temp) {
        this.registry = registry;
        this.temp = temp;
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
        return new TestRegistry(LocalRegistry.start(dir), null);
    }

    /** One in a temporary folder of its own, removed when it stops. */
    static TestRegistry inTempDir() throws Exception {
        Path temp = Files.createTempDirectory("gpudev-registry-test");
        return new TestRegistry(LocalRegistry.start(temp.resolve("registry")), temp);
    }

    /** As {@link #pushBusybox(Path, String, Map, Map)}, made in its own folder. */
    String pushBusybox(String nameAndTag, Map<String, String> files, Map<String, String> env) throws Exception {
        return pushBusybox(temp, nameAndTag, files, env);
    }

    /** "127.0.0.1:PORT". */
    public String address() {
        return registry.address();
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
        registry.close();
        if (temp != null) {
            ImageFiles.deleteQuietly(temp);
        }
    }
}
