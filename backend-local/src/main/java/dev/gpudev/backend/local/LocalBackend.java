package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.Activity;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.Capacity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Environments on this machine: a home directory under the data dir that outlives the environment
 * (a named disk's home lives under disks/ID), a sandbox for every process, and an SSH endpoint on
 * 127.0.0.1. Which GPUs of a node an environment gets, and which port its endpoint has, are decided
 * here and kept in the environment's directory, so a restarted server gives them back. Where the
 * server may make control groups, environments are bounded by their share of the machine and outlive
 * the server: a new one takes the running boxes over when it starts.
 */
public final class LocalBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(LocalBackend.class);

    /**
     * How environments are bounded and what happens to them when the server stops.
     *
     * @param memoryPerGpuBytes       memory an environment gets per GPU it asked for; 0: the machine's memory
     *                                (less a tenth, at least 2 GiB) shared by its GPUs
     * @param processesPerGpu         processes per GPU asked for (at least 256 in all)
     * @param keepEnvironmentsOnClose whether environments keep running when the server stops (a restarted
     *                                server takes them over); false ends them with the server
     * @param homeQuotaBytes          what a home (its own, or a disk) may take, measured ({@link HomeQuota}); 0: no quota
     * @param quotaCheckEvery         how often each running environment's home is measured
     * @param images                  where images may come from and how much of them is kept
     */
    public record Settings(long memoryPerGpuBytes, int processesPerGpu, boolean keepEnvironmentsOnClose, long homeQuotaBytes,
                           java.time.Duration quotaCheckEvery, ImagePolicy images) {
        /** What a small team would choose: 100 GiB a home, measured every 5 minutes. */
        public static final long DEFAULT_HOME_QUOTA = 100L << 30;

        public Settings(long memoryPerGpuBytes, int processesPerGpu, boolean keepEnvironmentsOnClose, long homeQuotaBytes,
                        java.time.Duration quotaCheckEvery) {
            this(memoryPerGpuBytes, processesPerGpu, keepEnvironmentsOnClose, homeQuotaBytes, quotaCheckEvery, ImagePolicy.DEFAULT);
        }

        public Settings(long memoryPerGpuBytes, int processesPerGpu, boolean keepEnvironmentsOnClose) {
            this(memoryPerGpuBytes, processesPerGpu, keepEnvironmentsOnClose, DEFAULT_HOME_QUOTA, java.time.Duration.ofMinutes(5));
        }

        public static Settings defaults() {
            return new Settings(0, 1024, false);
        }

        public Settings keepingEnvironments(boolean keep) {
            return new Settings(memoryPerGpuBytes, processesPerGpu, keep, homeQuotaBytes, quotaCheckEvery, images);
        }

        public Settings withHomeQuota(long bytes, java.time.Duration every) {
            return new Settings(memoryPerGpuBytes, processesPerGpu, keepEnvironmentsOnClose, bytes, every, images);
        }

        public Settings withImages(ImagePolicy policy) {
            return new Settings(memoryPerGpuBytes, processesPerGpu, keepEnvironmentsOnClose, homeQuotaBytes, quotaCheckEvery, policy);
        }
    }

    /**
     * Images on this machine ({@code reserve --image}).
     *
     * @param allowed    registries (host[:port]) and, starting with '/', folders of OCI layouts or archives that
     *                   images may come from; empty: any registry, no folder
     * @param insecure   registries spoken to over plain HTTP (127.0.0.1 and localhost always are)
     * @param cacheBytes how much unpacked image the machine keeps (least recently used go first); 0: no bound
     * @param pullDeadline how long a pull and unpack may take before the reservation fails
     * @param defaultImage the image of a reservation that names none; null: the host's system
     * @param buildRegistry where Dockerfile builds are pushed (host:port, spoken to over plain HTTP); null: a
     *                      docker-registry this server starts on 127.0.0.1
     * @param buildDeadline how long a build may take
     */
    public record ImagePolicy(java.util.List<String> allowed, java.util.Set<String> insecure, long cacheBytes,
                              java.time.Duration pullDeadline, String defaultImage, String buildRegistry, java.time.Duration buildDeadline) {
        public static final ImagePolicy DEFAULT = new ImagePolicy(java.util.List.of(), java.util.Set.of(), 50L << 30,
                java.time.Duration.ofMinutes(15), null);

        public ImagePolicy {
            allowed = java.util.List.copyOf(allowed);
            insecure = java.util.Set.copyOf(insecure);
        }

        public ImagePolicy(java.util.List<String> allowed, java.util.Set<String> insecure, long cacheBytes, java.time.Duration pullDeadline,
                           String defaultImage) {
            this(allowed, insecure, cacheBytes, pullDeadline, defaultImage, null, java.time.Duration.ofMinutes(30));
        }

        public ImagePolicy(java.util.List<String> allowed, java.util.Set<String> insecure, long cacheBytes, java.time.Duration pullDeadline) {
            this(allowed, insecure, cacheBytes, pullDeadline, null);
        }
    }

    private final Capacity capacity;
    private final Path root;
    private final Sandbox sandbox;
    private final DiskFiles disks;
    private final LocalEnvironment.Context context;
    private final Map<String, LocalEnvironment> running = new ConcurrentHashMap<>();

    private final GpuInventory.Utilization utilization = new GpuInventory.Utilization();

    public LocalBackend(Path dataDir, Capacity capacity, Sandbox sandbox) {
        this(dataDir, capacity, sandbox, Settings.defaults());
    }

    /**
     * @param dataDir the server's data dir: hidden from sandboxes
     * @param capacity real GPUs found by nvidia-smi or declared simulated ones
     */
    public LocalBackend(Path dataDir, Capacity capacity, Sandbox sandbox, Settings settings) {
        this.root = dataDir.resolve("environments");
        this.capacity = capacity;
        this.sandbox = sandbox;
        this.disks = new DiskFiles(dataDir.resolve("disks"), uidBase(), TENANT_JOB_DEADLINE);
        Optional<Cgroups> cgroups = sandbox instanceof Sandbox.Bubblewrap ? Cgroups.forScope(scope(dataDir)) : Optional.empty();
        this.images = new Images(new Images.Settings(dataDir.resolve("images"), settings.images().cacheBytes(), settings.images().allowed(),
                settings.images().insecure(), settings.images().pullDeadline()));
        this.builds = new LocalBuilds(dataDir, uidBase(), settings.images(), settings.images().buildRegistry(), settings.images().buildDeadline(),
                cgroups);
        this.context = new LocalEnvironment.Context(dataDir, sandbox, cgroups, settings, capacity, disks, images);
        adoptAll();
        this.quota = new HomeQuota(sandbox.isolates() ? settings.homeQuotaBytes() : 0, settings.quotaCheckEvery(), uidBase(),
                running::values);
    }

    private final HomeQuota quota;
    private final Images images;
    private final LocalBuilds builds;

    /** Builds it with buildah as its owner (off every caller's loop: the processor's workers call this, with a deadline). */
    @Override
    public dev.gpudev.backend.spi.ImageBuild.Built build(dev.gpudev.backend.spi.ImageBuild build) throws BackendException {
        if (!(sandbox instanceof Sandbox.Bubblewrap bw)) {
            throw new BackendException("image builds need bubblewrap on this machine (environments on images do)", false);
        }
        if (bw.slirp4netns() == null) {
            // on the host's network every environment could reach the platform's registry on 127.0.0.1
            throw new BackendException("image builds need slirp4netns on this machine (environments of their own network): ask the admin", false);
        }
        var built = builds.build(build);
        images.trust(dev.gpudev.core.ImageRef.registryOf(built.image()));
        return built;
    }

    /** Measures every running environment's home now (tests: not waiting for the quota's next round). */
    void measureHomes() {
        running.values().forEach(quota::measure);
    }

    /** The control groups' scope of a data dir: two servers on one machine never touch each other's. */
    static String scope(Path dataDir) {
        return dev.gpudev.core.Tokens.sha256Hex(dataDir.toAbsolutePath().normalize().toString()).substring(0, 16);
    }

    /**
     * Ends every environment a server of this data dir left running (its control groups), whether or not a
     * server runs: for an admin who wants them gone, and for tests that leave nothing behind.
     */
    public static int stopEnvironments(Path dataDir) {
        return LocalEnvironment.stopAll(dataDir, scope(dataDir));
    }

    /** The boxes a server before this one left running are taken over; what is left of the others ends. */
    private void adoptAll() {
        running.putAll(LocalEnvironment.adoptAll(context));
        if (!running.isEmpty()) {
            log.info("took over {} running environment(s): {}", running.size(), running.keySet());
        }
    }

    /** How long a listing or a removal of a tenant's files may take. */
    private static final java.time.Duration TENANT_JOB_DEADLINE = java.time.Duration.ofMinutes(2);
    /** How long a notice (file and terminals) may take: a terminal that does not take it at once is skipped. */
    private static final java.time.Duration NOTICE_DEADLINE = java.time.Duration.ofSeconds(10);

    /** Environments of user N run as uid base + N; -1 when they run as the server's own uid. */
    private int uidBase() {
        return sandbox instanceof Sandbox.Bubblewrap b ? b.uidBase() : -1;
    }

    /**
     * Once, before any environment starts (under the scheduler's lock, so nothing is admitted meanwhile):
     * disks kept under their owners' names before disks had ids move to their ids. Anything that is not
     * exactly such a disk is left alone and said.
     */
    public void migrateLegacyDisks(List<DiskRef> all) throws IOException {
        disks.migrateLegacy(all, context::uid);
    }

    /** Whether environments here are isolated from each other and from the server. */
    public boolean isolates() {
        return sandbox.isolates();
    }

    @Override
    public Capacity capacity() {
        return capacity;
    }

    @Override
    public synchronized void ensure(EnvironmentSpec spec) throws BackendException {
        Capacity.Node node = capacity.nodes().stream().filter(n -> n.name().equals(spec.node())).findFirst()
                .orElseThrow(() -> new BackendException("node " + spec.node() + " is not one of this machine's", false));
        LocalEnvironment r = running.get(spec.name());
        try {
            if (r != null && (!r.box().alive() || !r.ssh().running())) {
                log.warn("environment {} had stopped (its box or its SSH endpoint); it is made again", spec.name());
                r.stop();
                running.remove(spec.name());
                r = null;
            }
            if (r == null) {
                if (deleting.contains(context.home(spec))) {
                    throw new BackendException("its disk is being deleted", true);
                }
                Box network = null;
                if (spec.gang() != null && spec.rank() > 0) {
                    LocalEnvironment node0 = running.get(spec.gang().node0());
                    if (node0 == null) {
                        throw new BackendException("waiting for node 0 of its gang to start (the nodes share its network)", true);
                    }
                    network = node0.box();
                }
                Images.Image image = image(spec);
                r = LocalEnvironment.start(context, spec, context.home(spec), devices(spec, node, root.resolve(spec.name())), network, image);
                running.put(spec.name(), r);
            }
            r.ssh().authorize(spec.authorizedKeys());
            JupyterProcess jupyter = JupyterProcess.reconcile(r.jupyter(), spec, r.box(), root.resolve(spec.name()), r.ssh());
            if (jupyter != r.jupyter() || r.spec() != spec) {
                if (!spec.authorizedKeys().equals(r.spec().authorizedKeys())) {
                    SpecFile.write(root.resolve(spec.name()), spec);
                }
                r = r.with(spec, jupyter);
                running.put(spec.name(), r);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new BackendException("could not start environment " + spec.name() + ": " + e.getMessage(), true, e);
        }
    }

    /**
     * The image an environment runs on, once pulled and unpacked (null: the host's system). While it is being
     * pulled the environment waits (a transient failure that says so); a pull that failed fails it, in the
     * registry's words. The pull never holds this backend: it runs on the image store's own workers.
     */
    private Images.Image image(EnvironmentSpec spec) throws BackendException {
        String reference = spec.image() == null || spec.image().isBlank() ? context.settings().images().defaultImage() : spec.image();
        if (reference == null || reference.isBlank()) {
            return null;
        }
        if (!(sandbox instanceof Sandbox.Bubblewrap)) {
            throw new BackendException("images need bubblewrap on this machine (it runs environments on the host's system):"
                    + " ask the admin to install it, or reserve without --image", false);
        }
        String missing = Images.missingTools();
        if (missing != null) {
            throw new BackendException("images need " + missing + " on this machine: ask the admin to install them, or reserve without --image",
                    false);
        }
        try {
            if (reference.contains("/gpudev/builds@sha256:") && builds.missing() == null && builds.ours(reference)) {
                images.trust(dev.gpudev.core.ImageRef.registryOf(reference)); // the platform's own registry
            }
        } catch (java.io.IOException e) {
            throw new BackendException("the platform's image registry is not available: " + e.getMessage(), true, e);
        }
        images.using(running.values().stream().map(e -> e.box().image()).filter(java.util.Objects::nonNull).map(Images.Image::digest)
                .collect(Collectors.toSet()));
        return switch (images.prepare(reference, spec.owner().userId())) {
            case Images.State.Ready ready -> {
                images.touch(ready.image());
                yield ready.image();
            }
            case Images.State.Pulling p -> throw new BackendException("pulling image " + reference, true);
            case Images.State.Failed f -> throw new BackendException(f.reason(), false);
        };
    }

    /** The node's GPUs this environment gets: those it had before (a restart), else the lowest free ones. */
    private List<Integer> devices(EnvironmentSpec spec, Capacity.Node node, Path dir) throws IOException, BackendException {
        Set<Integer> taken = new TreeSet<>();
        running.values().stream().filter(o -> o.spec().node().equals(node.name())).forEach(o -> taken.addAll(o.devices()));
        Files.createDirectories(dir);
        Path file = dir.resolve("devices");
        List<Integer> before = LocalEnvironment.readDevices(file);
        if (before.size() == spec.gpuCount() && node.gpus().containsAll(before) && before.stream().noneMatch(taken::contains)) {
            return before;
        }
        List<Integer> free = node.gpus().stream().filter(g -> !taken.contains(g)).limit(spec.gpuCount()).toList();
        if (free.size() < spec.gpuCount()) {
            throw new BackendException(node.name() + " has " + free.size() + " free GPUs, not " + spec.gpuCount(), true);
        }
        Files.writeString(file, free.stream().map(String::valueOf).collect(Collectors.joining(",")));
        return free;
    }

    @Override
    public Map<String, Observed> observe() {
        Map<String, Observed> out = new HashMap<>();
        running.forEach((name, r) -> {
            Observed.Phase phase = !r.box().alive() || !r.ssh().running()
                    ? new Observed.Phase.Failed("the environment stopped (its sandbox or its SSH endpoint ended)", true)
                    : r.jupyter() != null && !r.jupyter().alive()
                    ? new Observed.Phase.Failed("Jupyter Lab exited", true)
                    : new Observed.Phase.Ready("127.0.0.1", r.ssh().port(), r.devices(), detail(r));
            out.put(name, new Observed(name, r.spec().reservationId(), r.spec().rank(), phase, r.run() == null ? null : r.run().ended()));
        });
        return out;
    }

    private String detail(LocalEnvironment r) {
        var spec = r.spec();
        String home = spec.home() instanceof EnvironmentSpec.Home.Disk d ? "; home: disk " + d.disk().name()
                : spec.home() instanceof EnvironmentSpec.Home.Scratch ? "; home: scratch, deleted at the end" : "";
        Images.Image img = r.box().image();
        String image = img == null ? "" : "; image " + img.reference() + " (" + img.digest() + ")";
        String jupyter = r.jupyter() == null ? "" : "; " + r.jupyter().describe().replace("NAME", spec.name());
        return "running (isolation: " + sandbox.describe()
                + (capacity.nodes().stream().anyMatch(Capacity.Node::simulated) ? "; GPUs simulated" : "") + "; limits: "
                + r.box().limits().describe() + ")" + home + image + jupyter + quotaLine(spec.name());
    }

    private String quotaLine(String name) {
        String q = quota.describe(name);
        return q.isEmpty() ? "" : "; " + q;
    }

    @Override
    public void destroy(String name) throws BackendException {
        // Only taking it out of the running set holds the backend's lock: what runs in the tenant's box or
        // files (clearing notices, ending its processes, removing a scratch home) never holds up another.
        LocalEnvironment r;
        synchronized (this) {
            r = running.remove(name);
            quota.forget(name);
        }
        if (r == null) {
            return;
        }
        try {
            // The home outlives the environment (unless scratch): the platform's notices do not.
            List<String> notices = new ArrayList<>(NOTICE_PREFIXES);
            notices.add(HomeQuota.NOTICE);
            TenantJobs.clear(r.box(), name, notices, NOTICE_DEADLINE);
        } catch (BackendException e) {
            log.warn("could not clear the notices of {}: {}", name, e.getMessage());
        }
        r.stop();
        if (!r.box().ended()) {
            synchronized (this) {
                running.putIfAbsent(name, r); // its GPUs stay taken while anything of it runs
            }
            throw new BackendException("not every process of " + name + " ended; it is removed again", true);
        }
        Path dir = root.resolve(name);
        try {
            Files.deleteIfExists(dir.resolve("devices"));
        } catch (IOException e) {
            log.warn("could not clean up after {}: {}", name, e.getMessage());
        }
        // A home stays (it is the user's) unless the reservation asked for a scratch one.
        if (r.spec().home() instanceof EnvironmentSpec.Home.Scratch && Files.exists(r.home(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            DiskFiles.remove(r.home(), uidBase(), TENANT_JOB_DEADLINE);
        }
    }

    @Override
    public Map<String, Activity> activity() {
        Map<String, Activity> out = new HashMap<>();
        boolean real = capacity.nodes().stream().noneMatch(Capacity.Node::simulated);
        Map<Integer, Integer> now = real && !running.isEmpty() ? utilization.now() : Map.of();
        running.forEach((name, r) -> {
            Integer util = r.devices().isEmpty() || !real ? null
                    : r.devices().stream().map(now::get).filter(java.util.Objects::nonNull).max(Integer::compare).orElse(null);
            out.put(name, new Activity(r.ssh().openSessions(), util));
        });
        return out;
    }

    @Override
    public void notify(String name, String fileName, String message) throws BackendException {
        LocalEnvironment r = running.get(name);
        if (r == null) {
            return;
        }
        TenantJobs.notice(r.box(), name, fileName, message, NOTICE_DEADLINE);
    }

    @Override
    public void clearNotices(String name, String prefix) throws BackendException {
        LocalEnvironment r = running.get(name);
        if (r == null) {
            return;
        }
        TenantJobs.clear(r.box(), name, List.of(prefix), NOTICE_DEADLINE);
    }

    /** A running environment (tests reach its box, its SSH server and its home through it). */
    LocalEnvironment running(String name) {
        return running.get(name);
    }

    @Override
    public void deleteDisk(DiskRef disk) throws BackendException {
        Path dir = disks.dir(disk);
        synchronized (this) {
            if (running.values().stream().anyMatch(r -> r.home().equals(dir))) {
                throw new BackendException("disk " + disk.name() + " is the home of a running environment", true);
            }
            deleting.add(dir);
        }
        try {
            disks.delete(disk); // as its owner, for as long as it takes: not under the backend's lock
        } finally {
            synchronized (this) {
                deleting.remove(dir);
            }
        }
    }

    /** Disks being deleted now: no environment starts on one. */
    private final Set<Path> deleting = new java.util.HashSet<>();

    @Override
    public DiskListing listDisk(DiskRef disk, int limit) throws BackendException {
        return disks.list(disk, limit);
    }

    @Override
    public dev.gpudev.core.BackendTraits traits() {
        return LocalBackendFactory.traits(sandbox);
    }

    /** This machine's sandboxes: one processor per database drives them, the others stand by. */
    @Override
    public String exclusiveLease() {
        return "local-backend";
    }

    @Override
    public String describe() {
        return "local (sandbox: " + sandbox.describe() + ")";
    }

    /** Open SSH sessions of an environment (0 when it does not run). */
    public int openSessions(String name) {
        LocalEnvironment r = running.get(name);
        return r == null ? 0 : r.ssh().openSessions();
    }

    /** The environments' names as they run now. */
    public List<String> names() {
        return new ArrayList<>(running.keySet());
    }

    /**
     * The server stops: its environments keep running (a restarted server takes them over) when its settings
     * say so and control groups hold them; else they end with it.
     */
    @Override
    public synchronized void close() {
        quota.close();
        images.close();
        builds.close();
        boolean keep = context.settings().keepEnvironmentsOnClose() && context.cgroups().isPresent();
        running.values().forEach(keep ? LocalEnvironment::detach : LocalEnvironment::stop);
        if (keep && !running.isEmpty()) {
            log.info("{} environment(s) keep running; a server started on this data dir takes them over", running.size());
        }
        running.clear();
        if (!keep) {
            // and whatever a removal cut short left of an environment (its group), so nothing outlives this server
            context.cgroups().ifPresent(c -> {
                c.names().forEach(name -> Cgroups.kill(c.group(name)));
                c.removeScopeIfEmpty();
            });
        }
    }
}
