package dev.gpudev.backend.spi;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.Capacity;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend in memory, for fast processor tests: environments are records, phases advance on
 * observation (after {@link #startingFor} looks, as a slow image pull would), failures are injected.
 * It passes {@link BackendContract} like the real ones.
 */
public final class InMemoryBackend implements Backend {
    /** One environment: what was asked, and what the test made of it. */
    public static final class Env {
        public volatile EnvironmentSpec spec;
        public final int port;
        int looksLeft;
        volatile Observed.Phase.Failed failed;
        public volatile int openSessions;
        public volatile Integer utilization;
        public final Map<String, String> notices = new ConcurrentHashMap<>();
        public int ensures;
        /** How its batch run ended, once the test says so. */
        public volatile Observed.RunEnd runEnd;

        Env(EnvironmentSpec spec, int port, int looksLeft) {
            this.spec = spec;
            this.port = port;
            this.looksLeft = looksLeft;
        }
    }

    private volatile Capacity capacity;
    private final Map<String, Env> envs = new ConcurrentHashMap<>();
    private final Map<Long, Map<String, String>> disks = new ConcurrentHashMap<>();
    private final AtomicInteger ports = new AtomicInteger(40000);
    private final List<String> destroyed = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** How many observations a new environment stays Starting. */
    public volatile int startingFor;
    /** When set, processors must hold this lease to drive it (as for a backend of one machine). */
    public volatile String exclusiveLease;
    /** When set, ensure fails with this (transient or not) until cleared. */
    public volatile BackendException ensureFails;

    /** Elastic pools, when a test sets them. */
    public volatile NodePools pools;

    @Override
    public java.util.Optional<NodePools> nodePools() {
        return java.util.Optional.ofNullable(pools);
    }

    public InMemoryBackend(Capacity capacity) {
        this.capacity = capacity;
    }

    @Override
    public Capacity capacity() {
        return capacity;
    }

    @Override
    public String exclusiveLease() {
        return exclusiveLease;
    }

    /** In memory: "isolated" as far as the platform's rules go (tests of those rules set what they need). */
    public volatile BackendTraits traits = new BackendTraits("in-memory", true, null);

    @Override
    public BackendTraits traits() {
        return traits;
    }

    @Override
    public synchronized void ensure(EnvironmentSpec spec) throws BackendException {
        if (ensureFails != null) {
            throw ensureFails;
        }
        if (capacity.nodes().stream().noneMatch(n -> n.name().equals(spec.node()))) {
            throw new BackendException("node " + spec.node() + " does not exist", false);
        }
        Env e = envs.computeIfAbsent(spec.name(), n -> new Env(spec, ports.incrementAndGet(), startingFor));
        if (e.failed != null && e.failed.isTransient()) {
            e.failed = null; // put right: it starts again
            e.looksLeft = startingFor;
        }
        e.spec = spec;
        e.ensures++;
    }

    @Override
    public synchronized Map<String, Observed> observe() {
        Map<String, Observed> out = new TreeMap<>();
        envs.forEach((name, e) -> {
            Observed.Phase phase;
            if (e.failed != null) {
                phase = e.failed;
            } else if (e.looksLeft > 0) {
                e.looksLeft--;
                phase = new Observed.Phase.Starting("starting (in memory)");
            } else {
                phase = new Observed.Phase.Ready("127.0.0.1", e.port, devices(e.spec.gpuCount()), "running (in memory)");
            }
            out.put(name, new Observed(name, e.spec.reservationId(), e.spec.rank(), phase, e.runEnd));
        });
        return out;
    }

    private static List<Integer> devices(int n) {
        List<Integer> d = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            d.add(i);
        }
        return d;
    }

    @Override
    public synchronized void destroy(String name) {
        if (envs.remove(name) != null) {
            destroyed.add(name);
        }
    }

    @Override
    public Map<String, Activity> activity() {
        Map<String, Activity> out = new HashMap<>();
        envs.forEach((name, e) -> out.put(name, new Activity(e.openSessions, e.utilization)));
        return out;
    }

    /** torch.distributed's variables an environment of a gang gets here: node 0 is reached by its name. */
    public static Map<String, String> variables(EnvironmentSpec spec) {
        return spec.gang() == null ? Map.of() : spec.gang().variables(spec.rank(), spec.gang().node0() + ".in-memory", 29500, spec.gpuCount());
    }

    @Override
    public void notify(String name, String fileName, String message) {
        Env e = envs.get(name);
        if (e != null) {
            e.notices.put(fileName, message);
        }
    }

    @Override
    public void clearNotices(String name, String prefix) {
        Env e = envs.get(name);
        if (e != null) {
            e.notices.keySet().removeIf(f -> f.startsWith(prefix));
        }
    }

    @Override
    public void deleteDisk(DiskRef disk) {
        disks.remove(disk.id());
    }

    @Override
    public DiskListing listDisk(DiskRef disk, int limit) {
        var files = new TreeMap<String, String>(java.util.Comparator.comparingInt((String p) -> p.split("/").length)
                .thenComparing(p -> p));
        files.putAll(disks.getOrDefault(disk.id(), Map.of()));
        List<DiskListing.Entry> entries = new ArrayList<>();
        long total = 0;
        for (var f : files.entrySet()) {
            total += f.getValue().length();
            if (entries.size() < limit) {
                entries.add(new DiskListing.Entry(f.getKey(), f.getValue().length(), false, Instant.EPOCH));
            }
        }
        return new DiskListing(entries, files.size() > limit, total);
    }

    @Override
    public String describe() {
        return "in memory (tests)";
    }

    // --- for tests ---------------------------------------------------------------------------

    /** Nodes join or leave. */
    public void setCapacity(Capacity capacity) {
        this.capacity = capacity;
    }

    public void putOnDisk(long diskId, String path, String content) {
        disks.computeIfAbsent(diskId, d -> new ConcurrentHashMap<>()).put(path, content);
    }

    public Env env(String name) {
        return envs.get(name);
    }

    public void fail(String name, String reason, boolean isTransient) {
        envs.get(name).failed = new Observed.Phase.Failed(reason, isTransient);
    }

    /** An environment that disappears behind the platform's back (a deleted pod, a reboot). */
    public void vanish(String name) {
        envs.remove(name);
    }

    public List<String> destroyed() {
        return List.copyOf(destroyed);
    }
}
