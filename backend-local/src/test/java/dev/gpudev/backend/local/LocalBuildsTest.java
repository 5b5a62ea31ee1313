package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.ImageBuild;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Dockerfile builds on one machine: buildah as the owner's uid, no network while building, pushed, reused by hash. */
class LocalBuildsTest {
    static TestRegistry registry;
    static String base;

    @TempDir
    Path dataDir;
    LocalBackend backend;

    @BeforeAll
    static void registry() throws Exception {
        String missing = TestRegistry.missing();
        assumeTrue(missing == null, missing);
        assumeTrue(Sandbox.which("buildah") != null, "buildah is not installed");
        assumeTrue(Sandbox.detect() instanceof Sandbox.Bubblewrap b && b.uidBase() >= 0, "bubblewrap and root are needed");
        registry = TestRegistry.inTempDir();
        base = registry.pushBusybox("team/busybox:1", Map.of(), Map.of("PATH", "/bin"));
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

    LocalBackend backend() {
        backend = new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1), true))), Sandbox.detect(),
                LocalBackend.Settings.defaults().withImages(new LocalBackend.ImagePolicy(List.of(registry.address()), Set.of(), 0,
                        Duration.ofMinutes(2), null, registry.address(), Duration.ofMinutes(5))));
        return backend;
    }

    /** A build's context as the CLI sends it: a gzip'd tar of the Dockerfile and these files; hashed. */
    static ImageBuild context(Path dir, String dockerfile, Map<String, String> files) throws Exception {
        Path ctx = Files.createDirectories(dir.resolve("ctx"));
        Files.writeString(ctx.resolve("Dockerfile"), dockerfile);
        for (var f : files.entrySet()) {
            Files.writeString(ctx.resolve(f.getKey()), f.getValue());
        }
        Path tgz = dir.resolve("context.tar.gz");
        Process p = new ProcessBuilder("tar", "-czf", tgz.toString(), "-C", ctx.toString(), ".").start();
        assertEquals(0, p.waitFor());
        byte[] bytes = Files.readAllBytes(tgz);
        return new ImageBuild("sha256:" + dev.gpudev.core.Tokens.sha256Hex(bytes), bytes, 7, "alice");
    }

    @Test
    void aDockerfileIsBuiltAsItsOwnerWithoutNetworkPushedAndReusedByItsHash(@TempDir Path dir) throws Exception {
        LocalBackend b = backend();
        ImageBuild build = context(dir, """
                FROM %s
                COPY hello.txt /etc/hello.txt
                RUN echo built-by-run > /etc/built && cat /proc/self/uid_map > /etc/uid-map && (wget -q -T 2 http://%s/v2/ -O /dev/null && echo online || echo offline) > /etc/network
                RUN (cat /proc/self/cgroup > /etc/cgroup || true) && (sleep 321 > /dev/null 2>&1 &) && echo left a process behind
                ENV GREETING=from-the-dockerfile
                """.formatted(base, registry.address()), Map.of("hello.txt", "from the context\n"));
        var built = b.build(build);
        assertFalse(built.reused());
        assertTrue(built.image().matches(java.util.regex.Pattern.quote(registry.address()) + "/gpudev/builds@sha256:[0-9a-f]{64}"),
                "pulled by its digest, never by a tag anyone could push over: " + built.image());
        assertTrue(built.log().contains("STEP 3/5: RUN"), built.log());
        assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().commandLine().orElse("").contains("sleep 321")),
                "what a RUN left running ended with the build");
        var spec = LocalImagesTest.spec("gpudev-built-a", built.image());
        LocalImagesTest.ensureUntilMade(b, spec);
        String out = LocalImagesTest.runIn(b, spec.name(), "cat /etc/hello.txt /etc/built /etc/network; echo \"[$GREETING]\"; cat /etc/uid-map");
        if (Cgroups.forScope(LocalBackend.scope(dataDir)).isPresent()) {
            String cgroup = LocalImagesTest.runIn(b, spec.name(), "cat /etc/cgroup");
            assertTrue(cgroup.contains("/build-"), "the build ran in a control group of its own (memory, processes): " + cgroup);
        }
        List<String> lines = out.lines().map(String::strip).toList();
        assertEquals(List.of("from the context", "built-by-run", "offline", "[from-the-dockerfile]"), lines.subList(0, 4), out);
        var sandbox = (Sandbox.Bubblewrap) Sandbox.detect();
        assertEquals(List.of("0", Integer.toString(Accounts.uid(sandbox.uidBase(), 7)), "1"), List.of(lines.get(4).split("\\s+")),
                "its RUN was root only in a namespace where that is the owner's uid: " + out);
        // every process of the build ended with it, and its folder is gone
        try (var left = Files.list(dataDir.resolve("builds"))) {
            assertEquals(List.of(), left.filter(Files::isDirectory).toList());
        }
    }

    @Test
    void aFailingStepFailsTheBuildWithThatStepAndItsLog(@TempDir Path dir) throws Exception {
        LocalBackend b = backend();
        ImageBuild broken = context(dir, "FROM " + base + "\nRUN echo about to fail && false\n", Map.of());
        var e = assertThrows(ImageBuild.Failed.class, () -> b.build(broken));
        assertTrue(e.getMessage().startsWith("the build failed at STEP 2/2: RUN echo about to fail && false"), e.getMessage());
        assertTrue(e.log().contains("about to fail"), e.log());
    }

    @Test
    void aBaseFromARegistryNotAllowedIsNeverPulled(@TempDir Path dir) throws Exception {
        LocalBackend b = backend();
        ImageBuild other = context(dir, "FROM docker.io/library/ubuntu:24.04\nRUN true\n", Map.of());
        var e = assertThrows(ImageBuild.Failed.class, () -> b.build(other));
        assertEquals("the build's FROM docker.io/library/ubuntu:24.04 is refused: images from docker.io are not allowed here; allowed: "
                + registry.address(), e.getMessage());
    }

    @Test
    void theDockerfileIsReadWithoutFollowingLinksAndItsBasesAreTheImagesNotTheStages(@TempDir Path dir) throws Exception {
        Files.createSymbolicLink(dir.resolve("Dockerfile"), Path.of("/etc/passwd"));
        assertThrows(ImageBuild.Failed.class, () -> LocalBuilds.dockerfile(dir.resolve("Dockerfile")));
        assertEquals(Set.of("a.io/x:1", "b.io/y:2"), LocalBuilds.bases("""
                FROM --platform=linux/amd64 a.io/x:1 AS build
                RUN make
                FROM b.io/y:2
                COPY --from=build /out /out
                FROM build AS again
                FROM scratch
                """));
        assertThrows(ImageBuild.Failed.class, () -> LocalBuilds.bases("ARG BASE\nFROM $BASE\n"));
        assertEquals("the build failed at STEP 2/2: RUN false: exit status 1",
                LocalBuilds.failedStep("STEP 1/2: FROM x\nSTEP 2/2: RUN false\nError: building at STEP \"RUN false\": exit status 1\n", "?"));
    }
}
