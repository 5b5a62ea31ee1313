package dev.gpudev.backend.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Container images as root file systems for the local backend's boxes. An image is pulled with
 * {@code skopeo} (a registry reference, or an OCI layout or archive under a path the admin allows) into an
 * OCI layout, unpacked once per manifest digest with {@code umoci unpack --rootless} into a
 * content-addressed cache ({@code images/sha256-HEX/rootfs}), made safe to mount (no setuid or setgid
 * bit, the box's mount points real directories and files, never links), and kept until the cache is over
 * its size, least recently used first, never while an environment uses it.
 *
 * <p>Everything slow runs on this class's own workers with a deadline: {@link #prepare} never blocks,
 * it answers where the image stands (ready, being pulled, failed with the registry's reason) and the
 * backend asks again on its next pass.
 */
final class Images implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Images.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Paths the box mounts over: made in every root file system, as real directories. */
    static final List<String> MOUNT_DIRS = List.of("dev", "proc", "tmp", "home", "run", "etc", "var", "var/tmp", ".gpudev",
            ".gpudev/host", ".gpudev/host/usr", ".gpudev/host/lib", ".gpudev/host/lib64", ".gpudev/run");
    /** Files the box mounts over: made as real, empty files where the image has none. */
    static final List<String> MOUNT_FILES = List.of("etc/passwd", "etc/group", "etc/resolv.conf", "etc/hosts");

    /**
     * @param cache        where unpacked images live
     * @param maxBytes     the cache's size; 0: no bound
     * @param allowed      registries (host[:port]) and, starting with '/', path prefixes of OCI layouts or archives
     *                     images may come from; empty: any registry, no path
     * @param insecure     registries spoken to over plain HTTP (127.0.0.1 and localhost always are)
     * @param pullDeadline how long a pull and unpack may take
     */
    record Settings(Path cache, long maxBytes, List<String> allowed, Set<String> insecure, Duration pullDeadline) {
        Settings {
            allowed = List.copyOf(allowed);
            insecure = Set.copyOf(insecure);
        }
    }

    /** An unpacked image: its root file system, its digest, and what its config says of the environment. */
    record Image(String reference, String digest, Path rootfs, Map<String, String> env, String workingDir, String shell) {
    }

    /** Where an image stands for a caller. */
    sealed interface State {
        record Ready(Image image) implements State {
        }

        record Pulling(String reference) implements State {
        }

        record Failed(String reason) implements State {
        }
    }

    private final Settings settings;
    private final ExecutorService workers = Executors.newFixedThreadPool(4, Thread.ofPlatform().name("image-pull-", 0).daemon().factory());
    /** Pulls one owner may have waiting or running at once (one tenant's slow registry never holds everyone's). */
    static final int PULLS_PER_OWNER = 2;
    /** Pulls waiting or running, by owner. */
    private final Map<Long, Integer> pullsOf = new ConcurrentHashMap<>();
    /** Digests handed out lately, and when: an environment may start on one before {@link #using} hears of it. */
    private final Map<String, Long> handedOut = new ConcurrentHashMap<>();
    /** How long a digest handed out is kept from eviction without being in use. */
    private static final long HANDED_OUT_GRACE_MS = 10 * 60_000L;
    /** By reference: the pull under way, or how the last one ended (a failure is kept until asked again once). */
    private final Map<String, State> byReference = new ConcurrentHashMap<>();
    /** Digests environments use now: never removed. */
    private final Set<String> inUse = ConcurrentHashMap.newKeySet();

    Images(Settings settings) {
        this.settings = settings;
    }

    /** Whether this machine can run images: skopeo and umoci are installed. */
    static String missingTools() {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("skopeo", "umoci")) {
            if (Sandbox.which(tool) == null) {
                missing.add(tool);
            }
        }
        return missing.isEmpty() ? null : String.join(" and ", missing);
    }

    static String registryOf(String reference) {
        return dev.gpudev.core.ImageRef.registryOf(reference);
    }

    static String refused(String reference, List<String> allowed) {
        return dev.gpudev.core.ImageRef.refused(reference, allowed);
    }

    /** The platform's own registry (where builds are pushed): always allowed, spoken to over plain HTTP. */
    private volatile String trusted;

    void trust(String registry) {
        this.trusted = registry;
    }

    private boolean trusted(String reference) {
        return trusted != null && !dev.gpudev.core.ImageRef.local(reference) && registryOf(reference).equals(trusted);
    }

    /** Where the image stands; starts its pull (for this owner) when it is neither cached nor under way. Never blocks. */
    synchronized State prepare(String reference, long owner) {
        String why = trusted(reference) ? null : refused(reference, settings.allowed());
        if (why == null && !trusted(reference)) {
            why = local(reference, settings);
        }
        if (why != null) {
            return new State.Failed(why);
        }
        State s = byReference.get(reference);
        if (s instanceof State.Pulling) {
            return s;
        }
        if (s instanceof State.Ready ready && Files.isDirectory(ready.image().rootfs(), LinkOption.NOFOLLOW_LINKS)) {
            handedOut.put(ready.image().digest(), System.currentTimeMillis());
            return s;
        }
        if (s instanceof State.Failed f) {
            byReference.remove(reference); // told once; asked again, it is pulled again
            return f;
        }
        if (pullsOf.getOrDefault(owner, 0) >= PULLS_PER_OWNER) {
            return new State.Pulling(reference); // waits its turn: this owner's other pulls first
        }
        State pulling = new State.Pulling(reference);
        byReference.put(reference, pulling);
        pullsOf.merge(owner, 1, Integer::sum);
        workers.submit(() -> {
            try {
                State done = pull(reference);
                synchronized (this) {
                    byReference.put(reference, done);
                    if (done instanceof State.Ready r) {
                        handedOut.put(r.image().digest(), System.currentTimeMillis());
                    }
                }
            } finally {
                pullsOf.computeIfPresent(owner, (k, n) -> n <= 1 ? null : n - 1);
            }
        });
        return pulling;
    }

    /**
     * Why a registry on this machine or its loopback may not be asked, or null: the server would be asking
     * the machine's own services for a tenant. Only those the admin named (--allowed-registries or
     * --insecure-registries, as host or host:port) may be.
     */
    static String local(String reference, Settings settings) {
        if (dev.gpudev.core.ImageRef.local(reference)) {
            return null; // a folder the admin allowed
        }
        String registry = registryOf(reference);
        String host = registry.replaceFirst(":\\d+$", "");
        boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("0.0.0.0");
        if (!loopback) {
            return null;
        }
        boolean named = settings.allowed().contains(registry) || settings.insecure().contains(registry) || settings.insecure().contains(host);
        return named ? null : "images from " + registry + " (this machine) are not allowed here: the admin allows a local registry with"
                + " --insecure-registries " + host;
    }

    /** The image an environment used before a restart, when it is still in the cache (no pull). */
    java.util.Optional<Image> cached(String reference, String digest) {
        Path dir = dirOf(digest);
        if (dir == null || !Files.isDirectory(dir.resolve("rootfs"), LinkOption.NOFOLLOW_LINKS)) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(read(reference, digest, dir));
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    /** The digests environments use now: the cache never removes them. */
    void using(Set<String> digests) {
        inUse.retainAll(digests);
        inUse.addAll(digests);
    }

    private Path dirOf(String digest) {
        if (digest == null || !digest.matches("sha256:[0-9a-f]{64}")) {
            return null;
        }
        return settings.cache().resolve("sha256-" + digest.substring("sha256:".length()));
    }

    private State pull(String reference) {
        long deadline = System.nanoTime() + settings.pullDeadline().toNanos();
        Path work = null;
        try {
            Files.createDirectories(settings.cache());
            work = Files.createTempDirectory(settings.cache(), "pull-");
            Path digestFile = work.resolve("digest");
            // no credentials of the server's user: a tenant never pulls what the admin logged in for
            Path noAuth = work.resolve("auth.json");
            Files.writeString(noAuth, "{}");
            List<String> copy = new ArrayList<>(List.of(Sandbox.which("skopeo"), "copy", "--quiet", "--digestfile", digestFile.toString(),
                    "--src-authfile", noAuth.toString()));
            String source = reference.startsWith("oci:") || reference.startsWith("oci-archive:") ? reference
                    : "docker://" + reference.replaceFirst("^docker://", "");
            String registry = registryOf(reference);
            String host = registry.split(":")[0];
            if (trusted(reference) || local(reference, settings) == null && !dev.gpudev.core.ImageRef.local(reference)
                    && (host.equals("localhost") || host.startsWith("127.") || settings.insecure().contains(registry)
                    || settings.insecure().contains(host))) {
                copy.add("--src-tls-verify=false");
            }
            copy.addAll(List.of(source, "oci:" + work.resolve("layout") + ":image"));
            Tools.run(copy, Tools.cleanEnv(work), work.resolve("tool.log"), deadline, "pulling " + reference, work);
            String digest = Files.readString(digestFile).trim();
            Path dir = dirOf(digest);
            if (dir == null) {
                return new State.Failed("the registry gave no usable digest for " + reference);
            }
            if (!Files.isDirectory(dir.resolve("rootfs"), LinkOption.NOFOLLOW_LINKS)) {
                Path bundle = work.resolve("bundle");
                Tools.run(List.of(Sandbox.which("umoci"), "unpack", "--rootless", "--image", work.resolve("layout") + ":image", bundle.toString()),
                        Tools.cleanEnv(work), work.resolve("tool.log"), deadline, "unpacking " + reference, work);
                makeSafe(bundle.resolve("rootfs"));
                Files.writeString(bundle.resolve("size"), Long.toString(sizeOf(bundle.resolve("rootfs"))));
                synchronized (this) { // against eviction, and another reference of the same digest
                    if (!Files.isDirectory(dir.resolve("rootfs"), LinkOption.NOFOLLOW_LINKS)) {
                        try {
                            Files.move(bundle, dir, StandardCopyOption.ATOMIC_MOVE);
                        } catch (java.nio.file.FileSystemException raced) {
                            if (!Files.isDirectory(dir.resolve("rootfs"), LinkOption.NOFOLLOW_LINKS)) {
                                throw raced;
                            }
                        }
                    }
                    handedOut.put(digest, System.currentTimeMillis());
                }
            }
            Files.setLastModifiedTime(dir, FileTime.fromMillis(System.currentTimeMillis()));
            Image image = read(reference, digest, dir);
            evict(dir);
            log.info("image {} ({}) is ready", reference, digest);
            return new State.Ready(image);
        } catch (Tools.Failed e) {
            log.info("image {}: {}", reference, e.getMessage());
            return new State.Failed(e.getMessage());
        } catch (IOException | RuntimeException e) {
            log.warn("image {}: {}", reference, e.toString());
            return new State.Failed("could not prepare image " + reference + ": " + e.getMessage());
        } finally {
            if (work != null) {
                deleteQuietly(work);
            }
        }
    }

    /**
     * The root file system as the box may mount it: no setuid or setgid file (the box has no new privileges
     * anyway; this is the second wall), and every mount point a real directory or file of its own, never a
     * link into somewhere else. Only here, before anyone runs anything in it, and never following a link.
     */
    static void makeSafe(Path rootfs) throws IOException {
        if (!Files.isDirectory(rootfs, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("the image has no root file system");
        }
        Files.walkFileTree(rootfs, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
                    var mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    if ((mode & 06000) != 0) {
                        Files.setPosixFilePermissions(file, perms); // setPosixFilePermissions writes the nine bits only
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (String d : MOUNT_DIRS) {
            Path p = rootfs.resolve(d);
            if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                deleteQuietly(p);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(p);
            }
        }
        for (String f : MOUNT_FILES) {
            Path p = rootfs.resolve(f);
            if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                deleteQuietly(p);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(p);
            }
        }
        Files.setPosixFilePermissions(rootfs.resolve("tmp"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    /** What the image's config (umoci writes it as the bundle's config.json) says of its environment. */
    private static Image read(String reference, String digest, Path dir) throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        String cwd = null;
        Path config = dir.resolve("config.json");
        if (Files.isRegularFile(config, LinkOption.NOFOLLOW_LINKS)) {
            JsonNode process = JSON.readTree(config.toFile()).path("process");
            for (JsonNode e : process.path("env")) {
                if (env.size() >= 256) {
                    break; // an image's ENV, bounded: its sessions must still start
                }
                String kv = e.asText("");
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    env.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            cwd = process.path("cwd").asText(null);
        }
        Path rootfs = dir.resolve("rootfs");
        String shell = executable(rootfs, "bin/bash") ? "/bin/bash" : "/bin/sh";
        return new Image(reference, digest, rootfs, env, cwd, shell);
    }

    /** Whether the image has this program, following its links only inside the image (each part of the path). */
    static boolean executable(Path rootfs, String path) {
        Path p = resolveInside(rootfs, path);
        return p != null && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * A path of the image resolved as the image would (links relative to its root, at every part), never
     * leaving it; null when it cannot be (too many links, a part that is not there).
     */
    static Path resolveInside(Path rootfs, String path) {
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                todo.addLast(part);
            }
        }
        List<String> at = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String part = todo.removeFirst();
            if (part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!at.isEmpty()) {
                    at.removeLast();
                }
                continue;
            }
            Path here = rootfs;
            for (String a : at) {
                here = here.resolve(a);
            }
            Path next = here.resolve(part);
            if (Files.isSymbolicLink(next)) {
                if (++links > 16) {
                    return null;
                }
                try {
                    String target = Files.readSymbolicLink(next).toString();
                    List<String> rest = new ArrayList<>(todo);
                    todo.clear();
                    if (target.startsWith("/")) {
                        at.clear();
                    }
                    for (String t : target.split("/")) {
                        if (!t.isEmpty()) {
                            todo.addLast(t);
                        }
                    }
                    todo.addAll(rest);
                } catch (IOException e) {
                    return null;
                }
                continue;
            }
            if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            at.add(part);
        }
        Path out = rootfs;
        for (String a : at) {
            out = out.resolve(a);
        }
        return out;
    }

    private static long sizeOf(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                total[0] += attrs.size();
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    /** Least recently used first, until the cache fits; never an image in use, nor the one just made. */
    private synchronized void evict(Path keep) throws IOException {
        if (settings.maxBytes() <= 0) {
            return;
        }
        List<Path> dirs;
        try (var list = Files.list(settings.cache())) {
            dirs = list.filter(d -> d.getFileName().toString().startsWith("sha256-")).sorted(Comparator.comparing(Images::lastUsed)).toList();
        }
        long total = dirs.stream().mapToLong(Images::recordedSize).sum();
        for (Path d : dirs) {
            if (total <= settings.maxBytes()) {
                break;
            }
            String digest = "sha256:" + d.getFileName().toString().substring("sha256-".length());
            Long handed = handedOut.get(digest);
            if (d.equals(keep) || inUse.contains(digest) || handed != null && System.currentTimeMillis() - handed < HANDED_OUT_GRACE_MS) {
                continue;
            }
            total -= recordedSize(d);
            byReference.values().removeIf(s -> s instanceof State.Ready r && r.image().digest().equals(digest));
            deleteQuietly(d);
            log.info("image {} left the cache (least recently used)", digest);
        }
    }

    private static FileTime lastUsed(Path d) {
        try {
            return Files.getLastModifiedTime(d, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static long recordedSize(Path d) {
        try {
            return Long.parseLong(Files.readString(d.resolve("size")).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Marks an image used now (its place in the least-recently-used order). */
    void touch(Image image) {
        try {
            Files.setLastModifiedTime(image.rootfs().getParent(), FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // only its place in the order
        }
    }

    static void deleteQuietly(Path p) {
        try {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                // write permission first: an image may have read-only directories
                Files.walkFileTree(p, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                        dir.toFile().setWritable(true, true);
                        dir.toFile().setExecutable(true, true);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
            } else {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("could not remove {}: {}", p, e.getMessage());
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
