package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Environments on container images on the local backend: pulled from a registry, unpacked once, run in the box. */
class LocalImagesTest {
    static TestRegistry registry;
    static String image;

    @TempDir
    Path dataDir;
    LocalBackend backend;

    @BeforeAll
    static void registry() throws Exception {
        String missing = TestRegistry.missing();
        assumeTrue(missing == null, missing);
        assumeTrue(Sandbox.detect() instanceof Sandbox.Bubblewrap, "bubblewrap is needed");
        registry = TestRegistry.inTempDir();
        image = registry.pushBusybox("team/busybox:1", Map.of("etc/from-the-image", "built into the image\n"),
                Map.of("HELLO", "from the image's ENV", "PATH", "/bin"));
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    @AfterEach
    void close() {
        if (backend != null) {
            backend.close();
        }
    }

    LocalBackend backend(List<String> allowed) {
        backend = new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1), true))), Sandbox.detect(),
                LocalBackend.Settings.defaults().withImages(new LocalBackend.ImagePolicy(allowed, Set.of(), 0, Duration.ofMinutes(2))));
        return backend;
    }

    static EnvironmentSpec spec(String name, String image) {
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, 0, new EnvironmentSpec.Owner(7, "alice"), "n0", 1,
                List.of(), null, new EnvironmentSpec.Home.Own(), image, null);
    }

    /** Ensures until the image is pulled (a transient "pulling" meanwhile); the last exception when it never is. */
    static void ensureUntilMade(LocalBackend backend, EnvironmentSpec spec) throws Exception {
        Instant deadline = Instant.now().plusSeconds(90);
        while (true) {
            try {
                backend.ensure(spec);
                return;
            } catch (BackendException e) {
                if (!e.isTransient() || Instant.now().isAfter(deadline)) {
                    throw e;
                }
                assertTrue(e.getMessage().startsWith("pulling image "), e.getMessage());
                Thread.sleep(50);
            }
        }
    }

    static String runIn(LocalBackend backend, String name, String script) throws Exception {
        Process p = new ProcessBuilder(LocalBackendProbe.commandIn(backend, name, List.of("/bin/sh", "-c", script))).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return out;
    }

    @Test
    void anEnvironmentOnAnImageRunsOnItsFilesWithItsEnvAsItsOwnerInItsHome() throws Exception {
        LocalBackend b = backend(List.of(registry.address()));
        var spec = spec("gpudev-img-a", image);
        ensureUntilMade(b, spec);
        String out = runIn(b, spec.name(), "cat /etc/from-the-image; echo \"env=$HELLO\"; id -u; echo \"home=$HOME\"; pwd;"
                + " test -e /usr/bin/apt && echo host-system || echo image-system; touch /etc/x 2>/dev/null && echo writable || echo read-only;"
                + " echo hi > ~/note && cat ~/note; ls /.gpudev/host/usr/bin/setpriv >/dev/null && echo tools");
        var sandbox = (Sandbox.Bubblewrap) Sandbox.detect();
        String uid = sandbox.uidBase() >= 0 ? Integer.toString(Accounts.uid(sandbox.uidBase(), 7)) : Long.toString(Accounts.serverUid());
        assertEquals(List.of("built into the image", "env=from the image's ENV", uid, "home=/home/alice", "/home/alice", "image-system",
                "read-only", "hi", "tools"), out.lines().toList(), out);
        Observed seen = b.observe().get(spec.name());
        assertTrue(seen.phase() instanceof Observed.Phase.Ready ready && ready.detail().contains("image " + image + " (sha256:"),
                seen.phase().toString());
        // unpacked once, by digest; a second environment on it starts without a pull
        var second = spec("gpudev-img-b", image);
        b.ensure(second);
        assertEquals("built into the image\n", runIn(b, second.name(), "cat /etc/from-the-image"));
        try (var cached = Files.list(dataDir.resolve("images"))) {
            assertEquals(1, cached.filter(d -> d.getFileName().toString().startsWith("sha256-")).count());
        }
    }

    @Test
    void aPullThatFailsFailsTheEnvironmentWithTheRegistrysReason() throws Exception {
        LocalBackend b = backend(List.of(registry.address()));
        var e = assertThrows(BackendException.class, () -> ensureUntilMade(b, spec("gpudev-img-missing", registry.address() + "/team/nothing:1")));
        assertFalse(e.isTransient());
        assertTrue(e.getMessage().contains("pulling " + registry.address() + "/team/nothing:1 failed") && e.getMessage().contains("manifest unknown"),
                e.getMessage());
    }

    @Test
    void anImageFromARegistryNotAllowedIsRefusedWithoutAPull() {
        LocalBackend b = backend(List.of("registry.example.com"));
        var e = assertThrows(BackendException.class, () -> b.ensure(spec("gpudev-img-refused", image)));
        assertFalse(e.isTransient());
        assertEquals("images from " + registry.address() + " are not allowed here; allowed: registry.example.com", e.getMessage());
        assertFalse(Files.exists(dataDir.resolve("images")) && dataDir.resolve("images").toFile().list().length > 0, "nothing pulled");
    }

    @Test
    void aRegistryOnThisMachineIsAskedOnlyWhenTheAdminNamedIt() {
        LocalBackend b = backend(List.of());
        var e = assertThrows(BackendException.class, () -> b.ensure(spec("gpudev-img-local", image)));
        assertFalse(e.isTransient());
        assertEquals("images from " + registry.address() + " (this machine) are not allowed here: the admin allows a local registry with"
                + " --insecure-registries 127.0.0.1", e.getMessage());
    }

    @Test
    void anImagesLinksAreFollowedOnlyInsideIt(@TempDir Path rootfs) throws Exception {
        Files.createDirectories(rootfs.resolve("usr/bin"));
        Files.writeString(rootfs.resolve("usr/bin/bash"), "x");
        Files.createSymbolicLink(rootfs.resolve("bin"), Path.of("usr/bin"));
        assertTrue(ImageFiles.executable(rootfs, "bin/bash"), "bin -> usr/bin inside the image");
        Files.delete(rootfs.resolve("bin"));
        Files.createSymbolicLink(rootfs.resolve("bin"), Path.of("/usr/bin")); // absolute: the image's /usr/bin, not the host's
        assertTrue(ImageFiles.executable(rootfs, "bin/bash"));
        Files.delete(rootfs.resolve("usr/bin/bash"));
        assertFalse(ImageFiles.executable(rootfs, "bin/bash"), "never the host's /usr/bin/bash");
        Files.createSymbolicLink(rootfs.resolve("usr/bin/bash"), Path.of("../../../../../../bin/busybox"));
        assertFalse(ImageFiles.executable(rootfs, "bin/bash"), "'..' stops at the image's root");
        Files.createSymbolicLink(rootfs.resolve("loop"), Path.of("loop"));
        assertFalse(ImageFiles.executable(rootfs, "loop"));
    }

    @Test
    void anUnpackedImageLosesItsSetuidBitsAndItsMountPointsAreItsOwn(@TempDir Path rootfs) throws Exception {
        Path suid = rootfs.resolve("bin/su");
        Files.createDirectories(suid.getParent());
        Files.writeString(suid, "x");
        Files.setAttribute(suid, "unix:mode", 04755);
        Files.createSymbolicLink(rootfs.resolve("home"), Path.of("/root"));
        Files.createDirectories(rootfs.resolve("etc"));
        Files.createSymbolicLink(rootfs.resolve("etc/passwd"), Path.of("/etc/shadow"));
        ImageFiles.makeSafe(rootfs);
        assertEquals(0755, (Integer) Files.getAttribute(suid, "unix:mode") & 07777);
        assertFalse(Files.isSymbolicLink(rootfs.resolve("home")));
        assertTrue(Files.isDirectory(rootfs.resolve("home")));
        assertFalse(Files.isSymbolicLink(rootfs.resolve("etc/passwd")));
        assertEquals(0, Files.size(rootfs.resolve("etc/passwd")));
    }
}
