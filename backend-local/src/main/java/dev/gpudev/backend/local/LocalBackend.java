package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.Activity;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.backend.spi.Rendezvous;
import dev.gpudev.core.Capacity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Environments on this machine: a home directory under the data dir that outlives the environment
 * (a named disk's home lives under disks/ID), a sandbox for every process, and an SSH endpoint on
 * 127.0.0.1. Which GPUs of a node an environment gets, and which port its endpoint has, are decided
 * here and kept in the environment's directory, so a restarted server gives them back.
 */
public final class LocalBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(LocalBackend.class);

    private final Capacity capacity;
    private final Path root;
    private final Path dataDir;
    private final Sandbox sandbox;
    private final DiskFiles disks;
    private final Map<String, Running> running = new ConcurrentHashMap<>();

    /** A running environment: what it was made from, its box, its endpoint, its GPUs, its home, its Jupyter. */
    private record Running(EnvironmentSpec spec, Box box, EnvironmentSshServer ssh, List<Integer> devices, Path home, JupyterProcess jupyter) {
        Running with(EnvironmentSpec s, JupyterProcess j) {
            return new Running(s, box, ssh, devices, home, j);
        }

        void stop() {
            if (jupyter != null) {
                jupyter.stop();
            }
            ssh.close();
            box.close();
        }
    }

    private volatile Map<Integer, Integer> utilization = Map.of();
    private volatile long utilizationReadAt;

    /**
     * @param dataDir the server's data dir: hidden from sandboxes
     * @param capacity real GPUs found by nvidia-smi or declared simulated ones
     */
    public LocalBackend(Path dataDir, Capacity capacity, Sandbox sandbox) {
        this.dataDir = dataDir;
        this.root = dataDir.resolve("environments");
        this.capacity = capacity;
        this.sandbox = sandbox;
        this.disks = new DiskFiles(dataDir.resolve("disks"), uidBase(), TENANT_JOB_DEADLINE);
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
        disks.migrateLegacy(all, userId -> sandbox instanceof Sandbox.Bubblewrap b ? Accounts.uid(b.uidBase(), userId) : Accounts.serverUid());
    }

    /** Whether environments here are isolated from each other and from the server. */
    public boolean isolates() {
        return sandbox.isolates();
    }

    @Override
    public Capacity capacity() {
        return capacity;
    }

    /** Where an environment's home is: a named disk's directory, or the environment's own. */
    Path home(EnvironmentSpec spec) throws BackendException {
        if (spec.home() instanceof EnvironmentSpec.Home.Disk d) {
            return disks.dir(d.disk());
        }
        return root.resolve(spec.name()).resolve("home");
    }

    @Override
    public synchronized void ensure(EnvironmentSpec spec) throws BackendException {
        Capacity.Node node = capacity.nodes().stream().filter(n -> n.name().equals(spec.node())).findFirst()
                .orElseThrow(() -> new BackendException("node " + spec.node() + " is not one of this machine's", false));
        Running r = running.get(spec.name());
        try {
            if (r != null && (!r.box().alive() || !r.ssh().running())) {
                log.warn("environment {} had stopped (its box or its SSH endpoint); it is made again", spec.name());
                r.stop();
                running.remove(spec.name());
                r = null;
            }
            if (r == null) {
                r = start(spec, node);
                running.put(spec.name(), r);
            }
            r.ssh().authorize(spec.authorizedKeys());
            JupyterProcess jupyter = JupyterProcess.reconcile(r.jupyter(), spec, r.box(), root.resolve(spec.name()), r.ssh());
            if (jupyter != r.jupyter() || r.spec() != spec) {
                r = r.with(spec, jupyter);
                running.put(spec.name(), r);
            }
        } catch (IOException e) {
            throw new BackendException("could not start environment " + spec.name() + ": " + e.getMessage(), true, e);
        }
    }

    private Running start(EnvironmentSpec spec, Capacity.Node node) throws IOException, BackendException {
        Path dir = root.resolve(spec.name());
        Path home = home(spec);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.createDirectories(home);
        int uid = uid(spec);
        Accounts.own(home, uid);
        List<Integer> devices = devices(spec, node, dir);
        String username = spec.owner().username().replaceAll("[^a-z0-9._-]", "_");
        String boxHome = sandbox.isolates() ? "/home/" + username : home.toString();
        Accounts.writeIdentity(dir, username, uid, boxHome);
        Box box = sandbox.start(new Box.Spec(spec.name(), home, dir, dataDir, uid, username, devices,
                environment(spec, boxHome, devices)));
        int port = remembered(dir.resolve("port"));
        EnvironmentSshServer ssh;
        try {
            try {
                ssh = new EnvironmentSshServer(spec.name(), dir.resolve("ssh_host_key"), box, Math.max(port, 0));
            } catch (BindException e) {
                // After a restart the old port may be taken; a new one is fine, the row records it.
                log.warn("port {} is taken; {} gets a new one", port, spec.name());
                ssh = new EnvironmentSshServer(spec.name(), dir.resolve("ssh_host_key"), box, 0);
            }
        } catch (IOException e) {
            box.close();
            throw e;
        }
        Files.writeString(dir.resolve("port"), Integer.toString(ssh.port()));
        return new Running(spec, box, ssh, devices, home, null);
    }

    /** The uid the owner's processes run as here. */
    private int uid(EnvironmentSpec spec) {
        return sandbox instanceof Sandbox.Bubblewrap b ? Accounts.uid(b.uidBase(), spec.owner().userId()) : Accounts.serverUid();
    }

    /** The node's GPUs this environment gets: those it had before (a restart), else the lowest free ones. */
    private List<Integer> devices(EnvironmentSpec spec, Capacity.Node node, Path dir) throws IOException, BackendException {
        Set<Integer> taken = new TreeSet<>();
        running.values().stream().filter(o -> o.spec().node().equals(node.name())).forEach(o -> taken.addAll(o.devices()));
        Path file = dir.resolve("devices");
        if (Files.exists(file)) {
            String text = Files.readString(file).trim();
            List<Integer> before = text.isEmpty() ? List.of()
                    : java.util.Arrays.stream(text.split(",")).map(String::trim).map(Integer::valueOf).toList();
            if (before.size() == spec.gpuCount() && node.gpus().containsAll(before) && before.stream().noneMatch(taken::contains)) {
                return before;
            }
        }
        List<Integer> free = node.gpus().stream().filter(g -> !taken.contains(g)).limit(spec.gpuCount()).toList();
        if (free.size() < spec.gpuCount()) {
            throw new BackendException(node.name() + " has " + free.size() + " free GPUs, not " + spec.gpuCount(), true);
        }
        Files.writeString(file, free.stream().map(String::valueOf).collect(Collectors.joining(",")));
        return free;
    }

    private static int remembered(Path file) {
        try {
            return Files.exists(file) ? Integer.parseInt(Files.readString(file).trim()) : 0;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    static Map<String, String> environment(EnvironmentSpec spec, String home, List<Integer> devices) {
        String gpus = devices.stream().map(String::valueOf).collect(Collectors.joining(","));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HOME", home);
        env.put("USER", spec.owner().username());
        env.put("LOGNAME", spec.owner().username());
        env.put("SHELL", "/bin/bash");
        env.put("TERM", "xterm-256color");
        env.put("LANG", "C.UTF-8");
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("CUDA_VISIBLE_DEVICES", gpus);
        env.put("NVIDIA_VISIBLE_DEVICES", gpus.isEmpty() ? "void" : gpus);
        env.put("GPU_DEV_RESERVATION_ID", spec.reservationId().toString());
        env.put("GPU_DEV_ENVIRONMENT", spec.name());
        env.putAll(spec.env());
        return env;
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
            out.put(name, new Observed(name, r.spec().reservationId(), r.spec().rank(), phase));
        });
        return out;
    }

    private String detail(Running r) {
        var spec = r.spec();
        String home = spec.home() instanceof EnvironmentSpec.Home.Disk d ? "; home: disk " + d.disk().name()
                : spec.home() instanceof EnvironmentSpec.Home.Scratch ? "; home: scratch, deleted at the end" : "";
        String image = spec.image() == null ? ""
                : "; image " + spec.image() + " is for the Kubernetes backend, this one runs on the host system";
        String jupyter = r.jupyter() == null ? "" : "; " + r.jupyter().describe().replace("NAME", spec.name());
        return "running (isolation: " + sandbox.describe() + (r.box().ownNetwork() ? "" : "")
                + (capacity.nodes().stream().anyMatch(Capacity.Node::simulated) ? "; GPUs simulated" : "") + ")" + home + image + jupyter;
    }

    @Override
    public synchronized void destroy(String name) throws BackendException {
        Running r = running.remove(name);
        if (r == null) {
            return;
        }
        try {
            // The home outlives the environment (unless scratch): the platform's notices do not.
            TenantJobs.clear(r.box(), name, NOTICE_PREFIXES, NOTICE_DEADLINE);
        } catch (BackendException e) {
            log.warn("could not clear the notices of {}: {}", name, e.getMessage());
        }
        r.stop();
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
        Map<Integer, Integer> now = real && !running.isEmpty() ? currentUtilization() : Map.of();
        running.forEach((name, r) -> {
            Integer util = r.devices().isEmpty() || !real ? null
                    : r.devices().stream().map(now::get).filter(java.util.Objects::nonNull).max(Integer::compare).orElse(null);
            out.put(name, new Activity(r.ssh().openSessions(), util));
        });
        return out;
    }

    /** nvidia-smi at most every 15 seconds, whatever the number of environments. */
    private Map<Integer, Integer> currentUtilization() {
        long now = System.nanoTime();
        if (now - utilizationReadAt > 15_000_000_000L) {
            Map<Integer, Integer> m = new HashMap<>();
            for (var g : GpuInventory.discover()) {
                if (g.utilizationPercent() != null) {
                    m.put(g.index(), g.utilizationPercent());
                }
            }
            utilization = m;
            utilizationReadAt = now;
        }
        return utilization;
    }

    /** All nodes are this machine: node 0 listens on loopback, on a port of its own per reservation. */
    @Override
    public Rendezvous rendezvous(UUID reservationId, String node0Environment) {
        return new Rendezvous("127.0.0.1", 29500 + Math.floorMod(reservationId.hashCode(), 2000));
    }

    @Override
    public void notify(String name, String fileName, String message) throws BackendException {
        Running r = running.get(name);
        if (r == null) {
            return;
        }
        TenantJobs.notice(r.box(), name, fileName, message, NOTICE_DEADLINE);
    }

    @Override
    public void clearNotices(String name, String prefix) throws BackendException {
        Running r = running.get(name);
        if (r == null) {
            return;
        }
        TenantJobs.clear(r.box(), name, List.of(prefix), NOTICE_DEADLINE);
    }

    /** The command line that runs cmd in a running environment's box, as its owner (tests play the tenant with it). */
    List<String> commandIn(String name, List<String> cmd) {
        Running r = running.get(name);
        if (r == null) {
            throw new IllegalStateException(name + " does not run");
        }
        return r.box().command(cmd, Map.of());
    }

    /** Where a running environment's home is on this machine (tests). */
    Path homeOf(String name) {
        Running r = running.get(name);
        return r == null ? null : r.home();
    }

    /** Whether an environment lets this key in now (for the contract test). */
    boolean accepts(String name, String publicKey) {
        Running r = running.get(name);
        return r != null && r.ssh().accepts(publicKey);
    }

    /** The notices in an environment's home (for the contract test): the platform's files, by name. */
    Map<String, String> notices(String name) throws IOException {
        Running r = running.get(name);
        Map<String, String> out = new java.util.HashMap<>();
        if (r == null || !Files.isDirectory(r.home())) {
            return out;
        }
        try (var files = Files.list(r.home())) {
            for (Path f : files.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith("WARN_") || n.startsWith("IDLE_")) {
                    out.put(n, Files.readString(f));
                }
            }
        }
        return out;
    }

    @Override
    public synchronized void deleteDisk(DiskRef disk) throws BackendException {
        Path dir = disks.dir(disk);
        if (running.values().stream().anyMatch(r -> r.home().equals(dir))) {
            throw new BackendException("disk " + disk.name() + " is the home of a running environment", true);
        }
        disks.delete(disk);
    }

    @Override
    public DiskListing listDisk(DiskRef disk, int limit) throws BackendException {
        return disks.list(disk, limit);
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
        Running r = running.get(name);
        return r == null ? 0 : r.ssh().openSessions();
    }

    /** The environments' names as they run now. */
    public List<String> names() {
        return new ArrayList<>(running.keySet());
    }

    @Override
    public synchronized void close() {
        running.values().forEach(Running::stop);
        running.clear();
    }
}
