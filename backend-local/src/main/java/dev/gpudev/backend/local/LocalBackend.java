package dev.gpudev.backend.local;

import dev.gpudev.core.Capacity;
import dev.gpudev.processor.Backend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Environments on this machine: a home directory under the data dir that outlives the environment,
 * a sandbox for every process, and an SSH endpoint on 127.0.0.1.
 */
public final class LocalBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(LocalBackend.class);

    private final Capacity capacity;
    private final Path root;
    private final Path dataDir;
    private final Sandbox sandbox;
    private final Map<String, EnvironmentSshServer> running = new ConcurrentHashMap<>();
    private final Map<String, List<Integer>> gpusOf = new ConcurrentHashMap<>();
    private final Map<String, Jupyter> jupyters = new ConcurrentHashMap<>();
    private final Map<String, Path> homes = new ConcurrentHashMap<>();
    private final Set<String> scratch = ConcurrentHashMap.newKeySet();

    /**
     * Where an environment's home is: node 0 of a reservation with a named disk uses the disk, kept
     * under disks/OWNER/NAME across reservations; any other home is the environment's own.
     */
    Path home(EnvironmentSpec spec) {
        if (spec.homeDisk() && spec.options().disk() != null) {
            return diskDir(spec.owner(), spec.options().disk());
        }
        return root.resolve(spec.name()).resolve("home");
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
    }

    @Override
    public Capacity capacity() {
        return capacity;
    }

    @Override
    public synchronized Environment ensure(EnvironmentSpec spec) throws IOException {
        EnvironmentSshServer server = running.get(spec.name());
        if (server == null) {
            Path dir = root.resolve(spec.name());
            Path home = home(spec);
            Files.createDirectories(dir);
            Files.createDirectories(home);
            homes.put(spec.name(), home);
            if (spec.options().scratch() && spec.homeDisk()) {
                scratch.add(spec.name());
            }
            Map<String, String> env = environment(spec, home);
            server = start(spec, dir, home, env);
            running.put(spec.name(), server);
            gpusOf.put(spec.name(), spec.gpus());
        }
        server.authorize(spec.authorizedKeys());
        String jupyter = jupyter(spec);
        String home = spec.options().disk() != null && spec.homeDisk() ? "; home: disk " + spec.options().disk()
                : spec.options().scratch() ? "; home: scratch, deleted at the end" : "";
        String image = spec.options().image() == null ? ""
                : "; image " + spec.options().image() + " is for the Kubernetes backend, this one runs on the host system";
        return new Environment(spec.name(), "127.0.0.1", server.port(), "running (sandbox: " + sandbox.describe()
                + (capacity.nodes().stream().anyMatch(Capacity.Node::simulated) ? "; GPUs simulated" : "") + ")"
                + home + image + (jupyter == null ? "" : "; " + jupyter));
    }

    /** Starts or stops Jupyter Lab as the spec says; returns what to tell the user, null when off. */
    private String jupyter(EnvironmentSpec spec) throws IOException {
        Jupyter running = jupyters.get(spec.name());
        if (!spec.jupyter()) {
            if (running != null) {
                running.process().destroy();
                jupyters.remove(spec.name());
            }
            return null;
        }
        if (running != null && running.process().isAlive()) {
            return "jupyter: " + running.url() + " (forward the port: ssh -L " + running.port() + ":127.0.0.1:" + running.port() + ")";
        }
        String exe = Sandbox.which("jupyter");
        if (exe == null) {
            return "jupyter: requested, but Jupyter is not installed on this machine (pip install jupyterlab)";
        }
        int port;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        String token = dev.gpudev.core.Tokens.newSecret().substring(0, 32);
        Path home = homes.getOrDefault(spec.name(), home(spec));
        Process p = new ProcessBuilder(sandbox.wrap(List.of(exe, "lab", "--no-browser", "--ip=127.0.0.1", "--port=" + port,
                "--IdentityProvider.token=" + token, "--ServerApp.root_dir=" + home), home, dataDir, environment(spec, home)))
                .redirectErrorStream(true).redirectOutput(root.resolve(spec.name()).resolve("jupyter.log").toFile()).start();
        Jupyter j = new Jupyter(p, port, "http://127.0.0.1:" + port + "/lab?token=" + token);
        jupyters.put(spec.name(), j);
        return "jupyter: " + j.url() + " (forward the port: ssh -L " + port + ":127.0.0.1:" + port + ")";
    }

    private record Jupyter(Process process, int port, String url) {
    }

    private EnvironmentSshServer start(EnvironmentSpec spec, Path dir, Path home, Map<String, String> env) throws IOException {
        int port = spec.preferredPort() == null ? 0 : spec.preferredPort();
        try {
            return new EnvironmentSshServer(spec.name(), dir.resolve("ssh_host_key"), home, dataDir, sandbox, env, port);
        } catch (BindException e) {
            // After a restart the old port may be taken; a new one is fine, the row records it.
            log.warn("port {} is taken; {} gets a new one", port, spec.name());
            return new EnvironmentSshServer(spec.name(), dir.resolve("ssh_host_key"), home, dataDir, sandbox, env, 0);
        }
    }

    static Map<String, String> environment(EnvironmentSpec spec, Path home) {
        String gpus = spec.gpus().stream().map(String::valueOf).collect(Collectors.joining(","));
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HOME", home.toString());
        env.put("USER", spec.owner());
        env.put("LOGNAME", spec.owner());
        env.put("SHELL", "/bin/bash");
        env.put("TERM", "xterm-256color");
        env.put("LANG", "C.UTF-8");
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("CUDA_VISIBLE_DEVICES", gpus);
        env.put("NVIDIA_VISIBLE_DEVICES", gpus.isEmpty() ? "void" : gpus);
        env.put("GPU_DEV_RESERVATION_ID", spec.reservationId().toString());
        env.put("GPU_DEV_ENVIRONMENT", spec.name());
        env.putAll(spec.extraEnv());
        return env;
    }

    @Override
    public synchronized void destroy(String name) {
        EnvironmentSshServer server = running.remove(name);
        gpusOf.remove(name);
        Jupyter j = jupyters.remove(name);
        if (j != null) {
            j.process().destroy();
        }
        if (server != null) {
            server.close();
        }
        Path home = homes.remove(name);
        // A home stays (it is the user's disk) unless the reservation asked for a scratch one.
        if (scratch.remove(name) && home != null) {
            try {
                deleteTree(home);
            } catch (IOException e) {
                log.warn("could not delete the scratch home of {}: {}", name, e.getMessage());
            }
        }
    }

    @Override
    public void notify(String name, String fileName, String message, String clearPrefix) throws IOException {
        Path home = homes.getOrDefault(name, root.resolve(name).resolve("home"));
        if (!Files.isDirectory(home)) {
            return;
        }
        if (clearPrefix != null) {
            try (var files = Files.list(home)) {
                for (Path f : files.filter(f -> f.getFileName().toString().startsWith(clearPrefix)).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
        if (fileName == null) {
            return;
        }
        Files.writeString(home.resolve(fileName), message + "\n");
        Terminals.broadcast(name, message);
    }

    @Override
    public synchronized void deleteDisk(String owner, String disk) throws IOException {
        Path dir = diskDir(owner, disk).normalize();
        if (!dir.startsWith(dataDir.resolve("disks")) || !Files.exists(dir)) {
            return;
        }
        if (homes.containsValue(dir)) {
            throw new IOException("disk " + disk + " is the home of a running environment");
        }
        deleteTree(dir);
    }

    @Override
    public synchronized void renameDisk(String owner, String from, String to) throws IOException {
        Path source = diskDir(owner, from).normalize();
        Path target = diskDir(owner, to).normalize();
        if (!source.startsWith(dataDir.resolve("disks")) || !target.startsWith(dataDir.resolve("disks"))) {
            throw new IOException("bad disk name");
        }
        if (!Files.exists(source)) {
            return; // never used, or moved already
        }
        if (homes.containsValue(source)) {
            throw new IOException("disk " + from + " is the home of a running environment");
        }
        if (Files.exists(target)) {
            throw new IOException("there are files under the name " + to + " already");
        }
        Files.move(source, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public DiskListing listDisk(String owner, String disk, int limit) throws IOException {
        Path root = diskDir(owner, disk).normalize();
        if (!root.startsWith(dataDir.resolve("disks")) || !Files.isDirectory(root)) {
            return new DiskListing(List.of(), false, 0);
        }
        List<DiskEntry> entries = new java.util.ArrayList<>();
        long[] bytes = {0};
        boolean[] more = {false};
        // Breadth first, so a listing cut short shows the top of the tree; links are listed, not followed.
        java.util.ArrayDeque<Path> dirs = new java.util.ArrayDeque<>(List.of(root));
        int visited = 0;
        while (!dirs.isEmpty() && visited < 200_000) { // a bound on the work: past it the total is a lower bound
            Path dir = dirs.poll();
            List<Path> children;
            try (var list = Files.list(dir)) {
                children = list.sorted().toList();
            } catch (IOException e) {
                continue; // unreadable: listed as a directory by its parent, contents skipped
            }
            for (Path child : children) {
                visited++;
                var attrs = Files.readAttributes(child, java.nio.file.attribute.BasicFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if (attrs.isRegularFile()) {
                    bytes[0] += attrs.size();
                }
                if (entries.size() < limit) {
                    entries.add(new DiskEntry(root.relativize(child).toString().replace('\\', '/'), attrs.isRegularFile() ? attrs.size() : 0,
                            attrs.isDirectory(), attrs.lastModifiedTime().toInstant()));
                } else {
                    more[0] = true;
                }
                if (attrs.isDirectory()) {
                    dirs.add(child);
                }
            }
        }
        return new DiskListing(entries, more[0] || !dirs.isEmpty(), bytes[0]);
    }

    /** Where a user's named disk lives: disks/OWNER/NAME under the data dir. */
    private Path diskDir(String owner, String disk) {
        return dataDir.resolve("disks").resolve(owner.replaceAll("[^A-Za-z0-9._-]", "_")).resolve(disk);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }

    @Override
    public Activity activity(String name) {
        EnvironmentSshServer s = running.get(name);
        List<Integer> gpus = gpusOf.getOrDefault(name, List.of());
        Integer util = null;
        if (!gpus.isEmpty() && capacity.nodes().stream().noneMatch(Capacity.Node::simulated)) {
            Map<Integer, Integer> now = currentUtilization();
            util = gpus.stream().map(now::get).filter(java.util.Objects::nonNull).max(Integer::compare).orElse(null);
        }
        return new Activity(s == null ? 0 : s.openSessions(), util);
    }

    /** nvidia-smi at most every 15 seconds, whatever the number of environments. */
    private Map<Integer, Integer> currentUtilization() {
        long now = System.nanoTime();
        if (now - utilizationReadAt > 15_000_000_000L) {
            Map<Integer, Integer> m = new java.util.HashMap<>();
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

    @Override
    public Set<String> environments() {
        return Set.copyOf(running.keySet());
    }

    @Override
    public String describe() {
        return "local (sandbox: " + sandbox.describe() + ")";
    }

    public int openSessions(String name) {
        EnvironmentSshServer s = running.get(name);
        return s == null ? 0 : s.openSessions();
    }

    @Override
    public synchronized void close() {
        running.values().forEach(EnvironmentSshServer::close);
        running.clear();
        jupyters.values().forEach(j -> j.process().destroy());
        jupyters.clear();
    }
}
