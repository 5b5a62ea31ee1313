package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.ImageBuild;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Dockerfile builds on one machine, with {@code buildah}, never as root: each build runs as its owner's uid,
 * which is root only inside a user namespace of the build's own (uid 0 there is the owner's uid here, and
 * nothing else is mapped), in a mount namespace where only its folder is reachable. The base images are
 * pulled first (from allowed registries only); the build itself ({@code RUN} steps included) has no network
 * at all; the result is pushed to the platform's registry as {@code gpudev/builds:sha256-HEX} and reused by
 * every later build of the same hash. The registry is the admin's ({@code --image-registry}) or a
 * {@code docker-registry} this server starts on 127.0.0.1.
 */
final class LocalBuilds implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalBuilds.class);
    /** The most a Dockerfile may be. */
    static final long MAX_DOCKERFILE = 512 * 1024;
    /** Where a build's folder is seen by its processes. */
    private static final String INSIDE = "/run/gpudev-build";

    private final Path root;
    private final int uidBase;
    private final LocalBackend.ImagePolicy policy;
    private final String externalRegistry;
    private final Duration deadline;
    private LocalRegistry registry;

    /** Where the server may make control groups: each build gets one (its memory and processes bounded, all of it ended at its end). */
    private final java.util.Optional<Cgroups> cgroups;
    /** A build's memory and processes, at most. */
    static final long BUILD_MEMORY = 8L << 30;
    static final int BUILD_PROCESSES = 4096;

    LocalBuilds(Path dataDir, int uidBase, LocalBackend.ImagePolicy policy, String externalRegistry, Duration deadline,
                java.util.Optional<Cgroups> cgroups) {
        this.cgroups = cgroups;
        this.root = dataDir.resolve("builds");
        this.uidBase = uidBase;
        this.policy = policy;
        this.externalRegistry = externalRegistry;
        this.deadline = deadline;
    }

    /** Why builds cannot run here, or null. */
    String missing() {
        if (uidBase < 0) {
            return "image builds need the server to run as root (each build runs as its owner's own uid)";
        }
        for (String tool : List.of("buildah", "skopeo", "tar")) {
            if (Sandbox.which(tool) == null) {
                return "image builds need " + tool + " on this machine";
            }
        }
        if (externalRegistry == null && Sandbox.which("docker-registry") == null) {
            return "image builds need a registry: docker-registry on this machine, or --image-registry";
        }
        return null;
    }

    /** The registry builds are pushed to (started here when the admin named none). */
    synchronized String registry() throws IOException {
        if (externalRegistry != null) {
            return externalRegistry;
        }
        if (registry == null || !registry.alive()) {
            registry = LocalRegistry.start(root.getParent().resolve("registry"));
            log.info("the platform's image registry listens on {}", registry.address());
        }
        return registry.address();
    }

    /** Whether an image is one of the builds' (in the platform's registry). */
    boolean ours(String image) throws IOException {
        return image != null && image.contains("/gpudev/builds@sha256:") && image.startsWith(registry() + "/gpudev/builds@sha256:");
    }

    /** The image a build of this hash makes (whether or not it was built yet). */
    String imageOf(ImageBuild b) throws IOException {
        return registry() + "/gpudev/builds:" + b.tag();
    }

    /** Builds it (or finds it built before) and pushes it; its image. Blocks: run it off every loop, it has its own deadline. */
    ImageBuild.Built build(ImageBuild b) throws BackendException {
        String missing = missing();
        if (missing != null) {
            throw new BackendException(missing, false);
        }
        if (!b.hash().matches("sha256:[0-9a-f]{64}")) {
            throw new BackendException("not a build's hash: " + b.hash(), false);
        }
        long until = System.nanoTime() + deadline.toNanos();
        Path work = null;
        Process holder = null;
        Path logFile = null;
        Cgroups.Group group = null;
        try {
            String image = imageOf(b);
            Files.createDirectories(root);
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
            logFile = root.resolve(b.tag() + ".log");
            Files.deleteIfExists(logFile);
            work = Files.createTempDirectory(root, b.tag().substring(0, 19) + "-");
            int uid = Accounts.uid(uidBase, b.userId());
            Files.write(work.resolve("context.tar.gz"), b.context());
            Files.createDirectories(work.resolve("ctx"));
            Files.createDirectories(work.resolve("tmp"));
            for (Path p : List.of(work, work.resolve("ctx"), work.resolve("tmp"), work.resolve("context.tar.gz"))) {
                Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
            }
            if (cgroups.isPresent()) {
                group = cgroups.get().create("build-" + b.tag().substring(7, 23), BUILD_MEMORY, BUILD_PROCESSES);
            }
            holder = holder(work, uid, group);
            owner.put(holder.pid(), uid);
            if (group != null) {
                groups.put(holder.pid(), group);
            }
            Map<String, String> env = new HashMap<>(Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "HOME", INSIDE, "TMPDIR", INSIDE + "/tmp",
                    "BUILDAH_ISOLATION", "chroot", "STORAGE_DRIVER", "vfs"));
            // the context, unpacked by its owner (never by root: its links and names are theirs)
            Tools.run(as(holder, false, List.of("tar", "-xzf", INSIDE + "/context.tar.gz", "-C", INSIDE + "/ctx", "--no-same-owner",
                    "--no-same-permissions")), env, logFile, until, "unpacking the build's context", root);
            String dockerfile = dockerfile(work.resolve("ctx/Dockerfile"));
            Set<String> bases = bases(dockerfile);
            for (String base : bases) {
                String why = dev.gpudev.core.ImageRef.refused(base, policy.allowed());
                if (why == null) {
                    why = Images.local(base, policy.allowed(), policy.insecure());
                }
                if (why != null && !base.startsWith(registry() + "/")) {
                    throw new ImageBuild.Failed("the build's FROM " + base + " is refused: " + why, "");
                }
            }
            // its own storage and no registries.d of the host's (signatures are neither looked up there nor kept)
            List<String> buildah = List.of("buildah", "--root", INSIDE + "/storage", "--runroot", INSIDE + "/runroot", "--storage-driver", "vfs",
                    "--registries-conf-dir", INSIDE + "/tmp");
            for (String base : bases) {
                List<String> pull = new ArrayList<>(buildah);
                pull.addAll(List.of("pull", "--quiet", "--remove-signatures"));
                if (insecure(base)) {
                    pull.add("--tls-verify=false");
                }
                pull.add("docker://" + base);
                Tools.run(as(holder, false, pull), env, logFile, until, "pulling " + base, root);
            }
            List<String> bud = new ArrayList<>(buildah);
            bud.addAll(List.of("bud", "--isolation", "chroot", "--pull=never", "--layers=false", "-f", INSIDE + "/ctx/Dockerfile", "-t",
                    "localhost/gpudev-build:latest", INSIDE + "/ctx"));
            try {
                Tools.run(as(holder, true, bud), env, logFile, until, "building", root);
            } catch (Tools.Failed f) {
                String out = Tools.tail(logFile, 64 * 1024);
                throw new ImageBuild.Failed(failedStep(out, f.getMessage()), out);
            }
            List<String> push = new ArrayList<>(buildah);
            push.addAll(List.of("push", "--quiet", "--remove-signatures", "--tls-verify=false", "localhost/gpudev-build:latest",
                    "docker://" + image));
            Tools.run(as(holder, false, push), env, logFile, until, "pushing the image", root);
            // pulled by its digest, never by its tag: whoever could push to the registry cannot put other content under it.
            // Asked of the registry by the server (a file the build wrote could be a FIFO by now: its processes still run)
            String digest = digestOf(image);
            if (!digest.matches("sha256:[0-9a-f]{64}")) {
                throw new ImageBuild.Failed("the build's push gave no digest", logTail(logFile));
            }
            String pinned = registry() + "/gpudev/builds@" + digest;
            log.info("built {} for {} ({})", pinned, b.username(), b.hash());
            return new ImageBuild.Built(pinned, Tools.tail(logFile, 64 * 1024), false);
        } catch (ImageBuild.Failed f) {
            throw f;
        } catch (Tools.Failed f) {
            throw new ImageBuild.Failed(f.getMessage(), logTail(logFile));
        } catch (IOException e) {
            throw new BackendException("could not build " + b.hash() + ": " + e.getMessage(), true, e);
        } finally {
            if (holder != null) {
                // the build's PID namespace ends with its first process: every process the build left ends with it, so
                // nothing of the owner's runs while root removes the folder (no tree that changes under the walk)
                holder.descendants().forEach(ProcessHandle::destroyForcibly);
                holder.destroyForcibly();
                try {
                    holder.waitFor(10, TimeUnit.SECONDS);
                    for (var h : holder.descendants().toList()) {
                        h.onExit().get(10, TimeUnit.SECONDS);
                    }
                } catch (Exception e) {
                    log.warn("the build's processes did not end at once: {}", e.toString());
                }
            }
            if (group != null) {
                Cgroups.kill(group); // whatever of the build is left, wherever it went
            }
            if (holder != null) {
                first.remove(holder.pid());
                owner.remove(holder.pid());
                groups.remove(holder.pid());
            }
            if (work != null) {
                ImageFiles.deleteQuietly(work);
            }
        }
    }

    /** The manifest digest the registry has for an image (skopeo, by the server: no credentials, 30 s at most). */
    private static String digestOf(String image) throws IOException {
        Path empty = Files.createTempFile("gpudev-auth", ".json");
        Path out = Files.createTempFile("gpudev-digest", ".txt");
        try {
            Files.writeString(empty, "{}");
            ProcessBuilder pb = new ProcessBuilder(Sandbox.which("skopeo"), "inspect", "--tls-verify=false", "--authfile", empty.toString(),
                    "--format", "{{.Digest}}", "docker://" + image).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectOutput(out.toFile());
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/bin:/bin");
            Process p = pb.start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "";
            }
            return p.exitValue() == 0 ? Tools.tail(out, 4096).strip() : "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        } finally {
            Files.deleteIfExists(empty);
            Files.deleteIfExists(out);
        }
    }

    private static String logTail(Path logFile) {
        try {
            return logFile == null || !Files.exists(logFile) ? "" : Tools.tail(logFile, 64 * 1024);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * The build's namespaces: a user namespace where uid 0 is the owner's uid (written by root: it may allow
     * setgroups, which buildah's RUN needs), a mount namespace where the build's folder is at {@link #INSIDE},
     * and a network namespace with nothing in it (entered only for the build itself).
     */
    private Process holder(Path work, int uid, Cgroups.Group group) throws IOException {
        // Made by the owner's uid, never by root: root only writes the maps from outside, and binds the folder in.
        // A PID namespace of its own: its first process (the sleep) takes every process of the build with it.
        List<String> cmd = List.of("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--no-new-privs",
                "--", "/usr/bin/unshare", "--user", "--mount", "--net", "--pid", "--fork", "--kill-child", "--propagation", "private", "--",
                "/usr/bin/sleep", "infinity");
        ProcessBuilder pb = new ProcessBuilder(group == null ? cmd : Cgroups.joining(group, cmd)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        Process h = pb.start();
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        ProcessHandle first;
        while (true) {
            var sleeping = h.descendants().filter(d -> d.info().command().orElse("").endsWith("/sleep")).findFirst();
            if (sleeping.isPresent()) {
                first = sleeping.get();
                break;
            }
            if (System.nanoTime() > until || !h.isAlive()) {
                h.destroyForcibly();
                throw new IOException("the build's namespaces could not be made");
            }
            Thread.onSpinWait();
        }
        Files.writeString(Path.of("/proc/" + h.pid() + "/uid_map"), "0 " + uid + " 1\n");
        Files.writeString(Path.of("/proc/" + h.pid() + "/gid_map"), "0 " + uid + " 1\n");
        this.first.put(h.pid(), first.pid());
        try {
            // root binds the folder in (only into that mount namespace: the owner's uid cannot reach the data dir); nothing
            // but the sleep runs there yet
            Process m = new ProcessBuilder("/usr/bin/nsenter", "--target", Long.toString(first.pid()), "--mount", "--", "/bin/sh", "-c",
                    "mount -t tmpfs -o mode=0755 gpudev /run && mkdir " + INSIDE + " && mount --bind \"$1\" " + INSIDE, "gpudev-build",
                    work.toString()).redirectErrorStream(true).start();
            String out = new String(m.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!m.waitFor(10, TimeUnit.SECONDS) || m.exitValue() != 0) {
                throw new IOException("the build's folder could not be bound: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            h.destroyForcibly();
            throw new IOException("interrupted");
        } catch (IOException e) {
            h.destroyForcibly();
            throw e;
        }
        return h;
    }

    /** The first process of each build's PID namespace, by its holder. */
    private final Map<Long, Long> first = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A command run in the build's namespaces as the owner: entered by the owner's uid (never root: a process of
     * the build could trace root's nsenter while it is still root), root inside the build's user namespace only,
     * in its PID namespace, with no network when {@code offline}.
     */
    private List<String> as(Process holder, boolean offline, List<String> cmd) {
        List<String> c = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + owner.get(holder.pid()), "--regid=" + owner.get(holder.pid()),
                "--clear-groups", "--no-new-privs", "--", "/usr/bin/nsenter", "--target", Long.toString(first.get(holder.pid())), "--user",
                "--mount", "--pid"));
        if (offline) {
            c.add("--net");
        }
        c.addAll(List.of("--setuid", "0", "--setgid", "0", "--"));
        c.addAll(cmd);
        Cgroups.Group group = groups.get(holder.pid());
        return group == null ? c : Cgroups.joining(group, c);
    }

    /** Each build's control group, by its holder. */
    private final Map<Long, Cgroups.Group> groups = new java.util.concurrent.ConcurrentHashMap<>();

    /** The owner's uid of each build, by its holder. */
    private final Map<Long, Integer> owner = new java.util.concurrent.ConcurrentHashMap<>();

    /** The Dockerfile, read without following a link or opening anything but a small regular file. */
    static String dockerfile(Path p) throws ImageBuild.Failed, IOException {
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new ImageBuild.Failed("the build's context has no Dockerfile (a regular file at its top)", "");
        }
        if (Files.size(p) > MAX_DOCKERFILE) {
            throw new ImageBuild.Failed("the Dockerfile is larger than 512 KB", "");
        }
        try (var ch = Files.newByteChannel(p, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            byte[] b = Channels.newInputStream(ch).readNBytes((int) MAX_DOCKERFILE + 1);
            if (b.length > MAX_DOCKERFILE) {
                throw new ImageBuild.Failed("the Dockerfile is larger than 512 KB", "");
            }
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    /** The images a Dockerfile starts from (the core's rule), a build argument in FROM refused as a failed build. */
    static Set<String> bases(String dockerfile) throws ImageBuild.Failed {
        try {
            return dev.gpudev.core.Dockerfiles.bases(dockerfile);
        } catch (IllegalArgumentException e) {
            throw new ImageBuild.Failed(e.getMessage(), "");
        }
    }

    /** "the build failed at STEP 3/4: RUN false: exit status 1", from buildah's output. */
    static String failedStep(String out, String fallback) {
        String step = null;
        String error = null;
        for (String line : out.split("\n")) {
            String l = line.strip();
            if (l.startsWith("STEP ")) {
                step = l;
            } else if (l.startsWith("Error: ") || l.startsWith("error ")) {
                error = l.replaceFirst("^Error: ", "");
            }
        }
        if (step == null) {
            return "the build failed: " + (error == null ? fallback : error);
        }
        String why = error == null ? fallback : error.replaceFirst("^building at STEP \"[^\"]*\": ", "");
        return "the build failed at " + (step.length() > 200 ? step.substring(0, 200) + "…" : step) + ": " + why;
    }

    private boolean insecure(String reference) throws IOException {
        return dev.gpudev.core.ImageRef.registryOf(reference).equals(registry()) || Images.plainHttp(reference, policy.insecure());
    }

    @Override
    public synchronized void close() {
        if (registry != null) {
            registry.close();
        }
    }
}
