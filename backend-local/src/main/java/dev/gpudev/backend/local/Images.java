package dev.gpudev.backend.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
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

    /** The platform's own registry (where builds are pushed): always allowed, spoken to over plain HTTP. */
    private volatile String trusted;

    void trust(String registry) {
        this.trusted = registry;
    }

    private boolean trusted(String reference) {
        return trusted != null && !dev.gpudev.core.ImageRef.local(reference) && dev.gpudev.core.ImageRef.registryOf(reference).equals(trusted);
    }

    /** Where the image stands; starts its pull (for this owner) when it is neither cached nor under way. Never blocks. */
    synchronized State prepare(String reference, long owner) {
        String why = trusted(reference) ? null : dev.gpudev.core.ImageRef.refused(reference, settings.allowed());
        if (why == null && !trusted(reference)) {
            why = local(reference, settings.allowed(), settings.insecure());
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
    static String local(String reference, List<String> allowed, Set<String> insecure) {
        if (dev.gpudev.core.ImageRef.local(reference)) {
            return null; // a folder the admin allowed
        }
        String registry = dev.gpudev.core.ImageRef.registryOf(reference);
        String host = registry.replaceFirst(":\\d+$", "");
        boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("0.0.0.0");
        if (!loopback) {
            return null;
        }
        boolean named = allowed.contains(registry) || insecure.contains(registry) || insecure.contains(host);
        return named ? null : "images from " + registry + " (this machine) are not allowed here: the admin allows a local registry with"
                + " --insecure-registries " + host;
    }

    /** Whether a registry is spoken to over plain HTTP: one on this machine's loopback, or one the admin named insecure. */
    static boolean plainHttp(String reference, Set<String> insecure) {
        String registry = dev.gpudev.core.ImageRef.registryOf(reference);
        String host = registry.replaceFirst(":\\d+$", "");
        return host.equals("localhost") || host.startsWith("127.") || insecure.contains(registry) || insecure.contains(host);
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
            String registry = dev.gpudev.core.ImageRef.registryOf(reference);
            String host = registry.split(":")[0];
            if (trusted(reference) || !dev.gpudev.core.ImageRef.local(reference) && plainHttp(reference, settings.insecure())) {
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
                ImageFiles.makeSafe(bundle.resolve("rootfs"));
                Files.writeString(bundle.resolve("size"), Long.toString(ImageFiles.sizeOf(bundle.resolve("rootfs"))));
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
                ImageFiles.deleteQuietly(work);
            }
        }
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
        String shell = ImageFiles.executable(rootfs, "bin/bash") ? "/bin/bash" : "/bin/sh";
        return new Image(reference, digest, rootfs, env, cwd, shell);
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
            ImageFiles.deleteQuietly(d);
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

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
