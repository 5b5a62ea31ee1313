package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.core.Capacity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * One running environment of this machine: what it was made from, its box, its SSH endpoint, its GPUs,
 * its home, its Jupyter. Made anew ({@link #start}) or taken over from a server before this one
 * ({@link #adopt}): the box and everything in it kept running, the endpoint listens again on its port.
 */
record LocalEnvironment(EnvironmentSpec spec, Box box, EnvironmentSshServer ssh, List<Integer> devices, Path home, JupyterProcess jupyter,
                        BatchProcess run) {
    private static final Logger log = LoggerFactory.getLogger(LocalEnvironment.class);

    /** What every environment of a backend is made with. */
    record Context(Path dataDir, Sandbox sandbox, Optional<Cgroups> cgroups, LocalBackend.Settings settings, Capacity capacity,
                   DiskFiles disks, Images images) {
        Path root() {
            return dataDir.resolve("environments");
        }

        Path dir(String name) {
            return root().resolve(name);
        }

        /** The uid the owner's processes run as here. */
        int uid(EnvironmentSpec spec) {
            return uid(spec.owner().userId());
        }

        /** The uid a user's processes and files have here. */
        int uid(long userId) {
            return sandbox instanceof Sandbox.Bubblewrap b ? Accounts.uid(b.uidBase(), userId) : Accounts.serverUid();
        }

        /** Where an environment's home is: a named disk's directory, or the environment's own. */
        Path home(EnvironmentSpec spec) throws dev.gpudev.backend.spi.BackendException {
            if (spec.home() instanceof EnvironmentSpec.Home.Disk d) {
                return disks.dir(d.disk());
            }
            return dir(spec.name()).resolve("home");
        }
    }

    LocalEnvironment with(EnvironmentSpec s, JupyterProcess j) {
        return new LocalEnvironment(s, box, ssh, devices, home, j, run);
    }

    /** Ends it: Jupyter, its batch run, the endpoint, the box and everything that runs in it. */
    void stop() {
        if (jupyter != null) {
            jupyter.stop();
        }
        if (run != null) {
            run.stop();
        }
        ssh.close();
        box.close();
    }

    /** The server stops, the environment stays: only the endpoint (in the server) goes; a restarted server takes the box over. */
    void detach() {
        ssh.close();
    }

    /**
     * Makes an environment: its directory, its home handed to its owner, its box with the limits of its share
     * of the machine, its SSH endpoint (on the port it had before, when it can).
     *
     * @param network the box whose network it joins (a gang's node 0), or null
     */
    static LocalEnvironment start(Context ctx, EnvironmentSpec spec, Path home, List<Integer> devices, Box network, Images.Image image)
            throws IOException {
        Path dir = ctx.dir(spec.name());
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Files.createDirectories(home);
        int uid = ctx.uid(spec);
        Accounts.own(home, uid);
        // which image it runs on, for a restarted server that takes the box over
        Path digest = dir.resolve(IMAGE_DIGEST);
        if (image == null) {
            Files.deleteIfExists(digest);
        } else {
            Files.writeString(digest, image.digest());
        }
        Box box = ctx.sandbox().start(boxSpec(ctx, spec, home, devices, network, image), ctx.cgroups());
        EnvironmentSshServer ssh;
        BatchProcess run;
        try {
            ssh = endpoint(spec.name(), dir, box);
            SpecFile.write(dir, spec);
            run = spec.run() == null ? null : BatchProcess.start(spec, box, dir);
        } catch (IOException e) {
            box.close();
            throw e;
        }
        return new LocalEnvironment(spec, box, ssh, devices, home, null, run);
    }

    /**
     * The environment a server before this one left running in this directory, taken over with everything
     * in it; empty (and whatever was left of it ended) when its box is gone.
     */
    static Optional<LocalEnvironment> adopt(Context ctx, Path dir, Map<String, LocalEnvironment> others) {
        EnvironmentSpec spec;
        List<Integer> devices;
        Path home;
        try {
            spec = SpecFile.read(dir);
            devices = readDevices(dir.resolve("devices"));
            home = ctx.home(spec);
        } catch (IOException | RuntimeException | dev.gpudev.backend.spi.BackendException e) {
            return Optional.empty();
        }
        Box network = spec.gang() != null && spec.rank() > 0 && others.get(spec.gang().node0()) != null
                ? others.get(spec.gang().node0()).box() : null;
        Images.Image image = null;
        String reference = spec.image() != null && !spec.image().isBlank() ? spec.image() : ctx.settings().images().defaultImage();
        if (Files.exists(dir.resolve(IMAGE_DIGEST))) {
            try {
                String digest = Files.readString(dir.resolve(IMAGE_DIGEST)).trim();
                image = ctx.images().cached(reference == null ? "" : reference, digest).orElse(null);
            } catch (IOException e) {
                image = null;
            }
            if (image == null) {
                ctx.cgroups().ifPresent(c -> Cgroups.kill(c.group(spec.name())));
                return Optional.empty(); // its image is not in the cache any more: made again
            }
        }
        var box = ctx.sandbox().adopt(boxSpec(ctx, spec, home, devices, network, image), ctx.cgroups());
        if (box.isEmpty()) {
            ctx.cgroups().ifPresent(c -> Cgroups.kill(c.group(spec.name())));
            return Optional.empty();
        }
        JupyterProcess.endLeftover(dir);
        try {
            EnvironmentSshServer ssh = endpoint(spec.name(), dir, box.get());
            ssh.authorize(spec.authorizedKeys());
            BatchProcess run = spec.run() == null ? null : BatchProcess.adopt(spec, box.get(), dir);
            return Optional.of(new LocalEnvironment(spec, box.get(), ssh, devices, home, null, run));
        } catch (IOException e) {
            log.warn("environment {}: its box runs but its endpoint cannot listen ({}); it is made again", spec.name(), e.getMessage());
            box.get().close();
            return Optional.empty();
        }
    }

    /** Every environment of a data dir's scope that a server before this one left running, taken over; the rest ended. */
    static Map<String, LocalEnvironment> adoptAll(Context ctx) {
        Map<String, LocalEnvironment> adopted = new java.util.LinkedHashMap<>();
        if (ctx.cgroups().isEmpty() || !Files.isDirectory(ctx.root())) {
            return adopted;
        }
        List<Path> dirs;
        try (var list = Files.list(ctx.root())) {
            // node 0 of a gang before its other nodes (their names sort after it): they join its network
            dirs = list.filter(d -> Files.exists(d.resolve(BubblewrapBox.STATE))).sorted().toList();
        } catch (IOException e) {
            return adopted;
        }
        for (Path dir : dirs) {
            adopt(ctx, dir, adopted).ifPresent(env -> adopted.put(env.spec().name(), env));
        }
        // groups of environments that are no more (their box died with the machine, or their state is lost)
        for (String name : ctx.cgroups().get().names()) {
            if (!adopted.containsKey(name)) {
                Cgroups.kill(ctx.cgroups().get().group(name));
            }
        }
        return adopted;
    }

    /** Ends every environment of a scope (its control groups) and forgets their boxes; how many there were. */
    static int stopAll(Path dataDir, String scope) {
        var cgroups = Cgroups.forScope(scope);
        if (cgroups.isEmpty()) {
            return 0;
        }
        int n = 0;
        for (String name : cgroups.get().names()) {
            Cgroups.kill(cgroups.get().group(name));
            try {
                Files.deleteIfExists(dataDir.resolve("environments").resolve(name).resolve(BubblewrapBox.STATE));
            } catch (IOException e) {
                // the state of a box that is gone is not read again
            }
            n++;
        }
        cgroups.get().removeScopeIfEmpty();
        return n;
    }

    /** The digest of the image an environment runs on (in its directory). */
    static final String IMAGE_DIGEST = "image.digest";

    private static Box.Spec boxSpec(Context ctx, EnvironmentSpec spec, Path home, List<Integer> devices, Box network, Images.Image image) {
        Path dir = ctx.dir(spec.name());
        int uid = ctx.uid(spec);
        String username = spec.owner().username().replaceAll("[^a-z0-9._-]", "_");
        String boxHome = ctx.sandbox().isolates() ? "/home/" + username : home.toString();
        try {
            Accounts.writeIdentity(dir, username, uid, boxHome);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new Box.Spec(spec.name(), home, dir, ctx.dataDir(), uid, username, devices, environment(spec, boxHome, devices, image),
                limits(ctx, spec), network, image);
    }

    /** Its share of the machine: memory and processes by GPUs asked, /tmp and /dev/shm half its memory each. */
    static Box.Limits limits(Context ctx, EnvironmentSpec spec) {
        int machineGpus = Math.max(1, ctx.capacity().nodes().stream().mapToInt(n -> n.gpus().size()).sum());
        long perGpu = ctx.settings().memoryPerGpuBytes() > 0 ? ctx.settings().memoryPerGpuBytes() : autoMemoryPerGpu(machineGpus);
        long memory = Math.max(512L << 20, perGpu * Math.max(1, spec.gpuCount()));
        int processes = Math.max(256, ctx.settings().processesPerGpu() * Math.max(1, spec.gpuCount()));
        return new Box.Limits(memory, processes, memory / 2);
    }

    /** The machine's memory, less what the server, its database and the system keep (a tenth, at least 2 GiB), per GPU. */
    private static long autoMemoryPerGpu(int machineGpus) {
        long total = memTotal();
        long reserve = Math.max(2L << 30, total / 10);
        return Math.max(512L << 20, (total - reserve) / machineGpus);
    }

    private static long memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // below
        }
        return 16L << 30;
    }

    private static EnvironmentSshServer endpoint(String name, Path dir, Box box) throws IOException {
        int port = remembered(dir.resolve("port"));
        EnvironmentSshServer ssh;
        try {
            ssh = new EnvironmentSshServer(name, dir.resolve("ssh_host_key"), box, Math.max(port, 0));
        } catch (BindException e) {
            // After a restart the old port may be taken; a new one is fine, the row records it.
            log.warn("port {} is taken; {} gets a new one", port, name);
            ssh = new EnvironmentSshServer(name, dir.resolve("ssh_host_key"), box, 0);
        }
        Files.writeString(dir.resolve("port"), Integer.toString(ssh.port()));
        return ssh;
    }

    static List<Integer> readDevices(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        String text = Files.readString(file).trim();
        return text.isEmpty() ? List.of() : java.util.Arrays.stream(text.split(",")).map(String::trim).map(Integer::valueOf).toList();
    }

    private static int remembered(Path file) {
        try {
            return Files.exists(file) ? Integer.parseInt(Files.readString(file).trim()) : 0;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Where node 0 of a gang listens here: all its nodes share node 0's network, on a port of its own per reservation. */
    static int rendezvousPort(UUID reservationId) {
        return 29500 + Math.floorMod(reservationId.hashCode(), 2000);
    }

    static Map<String, String> environment(EnvironmentSpec spec, String home, List<Integer> devices) {
        return environment(spec, home, devices, null);
    }

    /**
     * Every process's environment: an image's ENV, then the reservation's own, then the platform's (they win);
     * on an image its PATH is kept and the host's NVIDIA driver added (its libraries and nvidia-smi).
     */
    static Map<String, String> environment(EnvironmentSpec spec, String home, List<Integer> devices, Images.Image image) {
        String gpus = devices.stream().map(String::valueOf).collect(Collectors.joining(","));
        Map<String, String> env = new LinkedHashMap<>();
        if (image != null) {
            // The image's ENV reaches only the owner's processes (after env -i, in the box): a name filter here is
            // for their sessions' sake (a sane, bounded environment), not a security boundary.
            image.env().forEach((k, v) -> {
                if (k.matches("[A-Za-z_][A-Za-z0-9_]{0,127}") && !k.startsWith("LD_PRELOAD") && v.length() <= 4096) {
                    env.put(k, v);
                }
            });
        }
        env.putAll(spec.env().values()); // the reservation's own first: the platform's win
        env.put("HOME", home);
        env.put("USER", spec.owner().username());
        env.put("LOGNAME", spec.owner().username());
        env.put("SHELL", image == null ? "/bin/bash" : image.shell());
        env.put("TERM", "xterm-256color");
        env.put("LANG", "C.UTF-8");
        String path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        if (image != null) {
            path = image.env().getOrDefault("PATH", path);
            if (!devices.isEmpty()) {
                path = path + ":" + NvidiaDriver.BIN_DIR;
                String libs = image.env().get("LD_LIBRARY_PATH");
                env.put("LD_LIBRARY_PATH", (libs == null || libs.isEmpty() ? "" : libs + ":") + NvidiaDriver.LIB_DIR);
            }
        }
        env.put("PATH", path);
        env.put("CUDA_VISIBLE_DEVICES", gpus);
        env.put("NVIDIA_VISIBLE_DEVICES", gpus.isEmpty() ? "void" : gpus);
        env.put("GPU_DEV_RESERVATION_ID", spec.reservationId().toString());
        env.put("GPU_DEV_ENVIRONMENT", spec.name());
        if (spec.gang() != null) {
            env.putAll(spec.gang().variables(spec.rank(), "127.0.0.1", rendezvousPort(spec.reservationId()), spec.gpuCount()));
        }
        return env;
    }
}
