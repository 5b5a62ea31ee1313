package dev.gpudev.backend.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * An environment's box under bubblewrap: its own user, PID, IPC, UTS (its hostname is the environment's
 * name), mount and network namespaces, no capabilities and no new privileges, no user namespaces inside, only
 * the system's /usr, /etc (without its secrets) and /opt of the host, a home, sized /tmp and /dev/shm.
 * A keeper (bwrap running {@code sleep infinity}) holds the namespaces; sessions enter them with nsenter
 * as the owner's uid, with no capabilities and no new privileges.
 *
 * <p>Where the server may make control groups (root), the box lives in its environment's group, with
 * its memory and process limits, and every session, Jupyter and its network helper join that group:
 * the group is the box. It is started in a session of its own and does not die with the server; a
 * restarted server adopts it ({@link #adopt}, from {@code box.state}); ending it ends every process of
 * the group. Without control groups the box dies with the server (bwrap's die-with-parent), as nothing
 * else could end what it left.
 */
final class BubblewrapBox implements Box {
    private static final Logger log = LoggerFactory.getLogger(BubblewrapBox.class);
    static final String STATE = "box.state";
    /** Tunnels into one box's own network at once, at most. */
    static final int MAX_FORWARDS = 16;

    private final Sandbox.Bubblewrap sandbox;
    private final Spec spec;
    /** The first process of the box's PID namespace: the box lives while it does. */
    private final ProcessHandle init;
    private final Instant initStart;
    /** The box's command (sleep), inside every namespace: where sessions enter. */
    private final long inside;
    /** When it started: a pid alone could be another process's by now. */
    private final Instant insideStart;
    private final Slirp slirp;
    private final Cgroups.Group group;
    /** bwrap, when this server started the box without control groups (the box dies with it). */
    private final Process keeper;
    private final Map<Integer, Slirp.Forward> forwarded = new HashMap<>();
    /** Whether its files may not grow (over its home's quota): every process, and every new session, has RLIMIT_FSIZE 0. */
    private volatile boolean growthLimited;

    private BubblewrapBox(Sandbox.Bubblewrap sandbox, Spec spec, ProcessHandle init, Instant initStart, long inside, Slirp slirp,
                          Cgroups.Group group, Process keeper) {
        this.sandbox = sandbox;
        this.spec = spec;
        this.init = init;
        this.initStart = initStart;
        this.inside = inside;
        this.insideStart = ProcessHandle.of(inside).flatMap(h -> h.info().startInstant()).orElse(Instant.EPOCH);
        this.slirp = slirp;
        this.group = group;
        this.keeper = keeper;
    }

    static Box start(Sandbox.Bubblewrap sandbox, Spec spec, Optional<Cgroups> cgroups) throws IOException {
        boolean root = sandbox.uidBase() >= 0;
        Cgroups.Group group = null;
        if (cgroups.isPresent()) {
            var old = cgroups.get().group(spec.name());
            Cgroups.kill(old); // whatever was left of an earlier box of this name
            group = cgroups.get().create(spec.name(), spec.limits().memoryBytes(), spec.limits().processes());
        }
        boolean ownNet = sandbox.slirp4netns() != null && spec.network() == null;
        List<String> cmd = BoxCommandLine.keeper(sandbox, spec, root, ownNet, group == null);
        List<String> full = new ArrayList<>();
        if (group != null) {
            // A session of its own (a signal to the server's terminal is not the box's), in its group from the start.
            full.add("/usr/bin/setsid");
            full.addAll(Cgroups.joining(group, cmd));
        } else {
            full.addAll(cmd);
        }
        ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(spec.envDir().resolve("box.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process keeper = pb.start();
        ProcessHandle sleeper;
        try {
            sleeper = awaitInside(keeper, spec);
        } catch (IOException e) {
            if (group != null) {
                Cgroups.kill(group);
            }
            throw e;
        }
        ProcessHandle init = sleeper.parent().orElse(sleeper);
        Slirp slirp = null;
        if (ownNet) {
            try {
                slirp = Slirp.start(sandbox.slirp4netns(), keeper.pid(), spec.envDir(), root ? -1 : spec.uid(),
                        group == null ? List.of() : Cgroups.joining(group, List.of()));
            } catch (IOException e) {
                if (group != null) {
                    Cgroups.kill(group);
                }
                keeper.destroyForcibly();
                throw e;
            }
        }
        Instant initStart = init.info().startInstant().orElse(Instant.EPOCH);
        var box = new BubblewrapBox(sandbox, spec, init, initStart, sleeper.pid(), slirp, group, group == null ? keeper : null);
        box.saveState();
        return box;
    }

    /**
     * The box a server before this one started, if it still runs (its init is the process it recorded, by
     * pid and start time): taken over as it is, with everything running in it.
     */
    static Optional<Box> adopt(Sandbox.Bubblewrap sandbox, Spec spec, Optional<Cgroups> cgroups) {
        Path file = spec.envDir().resolve(STATE);
        if (cgroups.isEmpty() || !Files.exists(file)) {
            return Optional.empty();
        }
        Properties state = new Properties();
        try (var in = Files.newInputStream(file)) {
            state.load(in);
            long initPid = Long.parseLong(state.getProperty("init"));
            Instant initStart = Instant.parse(state.getProperty("init_start"));
            long inside = Long.parseLong(state.getProperty("inside"));
            var init = ProcessHandle.of(initPid).filter(h -> h.isAlive() && h.info().startInstant().map(initStart::equals).orElse(false));
            var sleeper = ProcessHandle.of(inside).filter(h -> h.parent().map(p -> p.pid() == initPid).orElse(false));
            if (init.isEmpty() || sleeper.isEmpty()) {
                return Optional.empty();
            }
            Cgroups.Group group = cgroups.get().group(spec.name());
            Slirp slirp = null;
            if (state.getProperty("slirp_pid") != null) {
                slirp = Slirp.adopt(Long.parseLong(state.getProperty("slirp_pid")), state.getProperty("slirp_start"),
                        Path.of(state.getProperty("slirp_api")));
            }
            var box = new BubblewrapBox(sandbox, spec, init.get(), initStart, inside, slirp, group, null);
            log.info("environment {}: its box, still running, is taken over", spec.name());
            return Optional.of(box);
        } catch (IOException | RuntimeException e) {
            log.warn("environment {}: its box's state cannot be read ({}); it is made again", spec.name(), e.toString());
            return Optional.empty();
        }
    }

    private void saveState() throws IOException {
        Properties state = new Properties();
        state.setProperty("init", Long.toString(init.pid()));
        state.setProperty("init_start", initStart.toString());
        state.setProperty("inside", Long.toString(inside));
        if (slirp != null) {
            state.setProperty("slirp_pid", Long.toString(slirp.pid()));
            state.setProperty("slirp_start", slirp.started());
            state.setProperty("slirp_api", slirp.apiSocket().toString());
        }
        Path tmp = spec.envDir().resolve(STATE + ".new");
        try (var out = Files.newOutputStream(tmp)) {
            state.store(out, "the box of " + spec.name() + ": a restarted server takes it over");
        }
        Files.move(tmp, spec.envDir().resolve(STATE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** The keeper's sleep (the program itself, or on an image the host's started by its loader), bwrap's child. */
    private static boolean isSleeper(ProcessHandle h) {
        var info = h.info();
        String command = info.command().orElse("");
        // (bwrap's own argv ends with the command too: never bwrap itself)
        boolean sleep = command.endsWith("/sleep") || !command.endsWith("/bwrap")
                && info.arguments().map(a -> a.length >= 2 && a[a.length - 1].equals("infinity") && a[a.length - 2].endsWith("/bin/sleep"))
                .orElse(false);
        // bwrap's own child (the box's first process), never a look-alike started inside the box
        return sleep && h.parent().map(p -> p.info().command().orElse("").endsWith("/bwrap")).orElse(false);
    }

    /** The box's first process inside all its namespaces (the sleep): where sessions enter. */
    private static ProcessHandle awaitInside(Process keeper, Spec spec) throws IOException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Instant.now().isBefore(deadline)) {
            var sleeper = keeper.descendants().filter(BubblewrapBox::isSleeper).findFirst();
            if (sleeper.isPresent()) {
                return sleeper.get();
            }
            if (!keeper.isAlive()) {
                String why = Files.exists(spec.envDir().resolve("box.log")) ? Files.readString(spec.envDir().resolve("box.log")) : "";
                throw new IOException("the sandbox of " + spec.name() + " did not start: " + why.strip());
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting the sandbox");
            }
        }
        keeper.destroyForcibly();
        throw new IOException("the sandbox of " + spec.name() + " did not start within 10 s");
    }

    /** Whether the box's command is still the process it was (a pid alone could be another's by now). */
    private boolean insideAlive() {
        return ProcessHandle.of(inside).filter(ProcessHandle::isAlive)
                .map(h -> h.info().startInstant().map(insideStart::equals).orElse(false)).orElse(false);
    }

    @Override
    public List<String> command(List<String> cmd, Map<String, String> extraEnv) {
        if (!insideAlive()) {
            // never enter "the namespaces of pid N" when N is no longer the box's
            throw new IllegalStateException("the box of " + spec.name() + " is gone");
        }
        List<String> c = new ArrayList<>(List.of("/usr/bin/nsenter", "--target", Long.toString(inside), "--user", "--pid", "--mount",
                "--ipc", "--uts", "--net", "--root", "--wd"));
        if (sandbox.uidBase() >= 0) {
            c.addAll(List.of("--setuid", Integer.toString(spec.uid()), "--setgid", Integer.toString(spec.uid())));
        } else {
            c.add("--preserve-credentials");
        }
        c.add("--");
        c.addAll(hostTool("/usr/bin/setpriv"));
        c.addAll(List.of("--no-new-privs", "--inh-caps=-all", "--"));
        c.addAll(hostTool("/usr/bin/env"));
        c.add("-i");
        Map<String, String> env = new HashMap<>(spec.env());
        env.putAll(extraEnv);
        env.forEach((k, v) -> c.add(k + "=" + v));
        c.addAll(cmd);
        if (growthLimited) {
            c.addAll(0, List.of("/usr/bin/prlimit", "--fsize=0:0", "--"));
        }
        // Every session, and whatever it leaves running, counts in the environment's limits and ends with it.
        return group == null ? c : Cgroups.joining(group, c);
    }

    @Override
    public String home() {
        return spec.boxHome();
    }

    @Override
    public Images.Image image() {
        return spec.image();
    }

    @Override
    public String shell() {
        return spec.shell();
    }

    @Override
    public List<String> hostTool(String program) {
        return BoxCommandLine.hostTool(spec, program);
    }

    @Override
    public synchronized int forward(int boxPort) throws IOException {
        if (slirp == null) {
            return -1;
        }
        Slirp.Forward f = forwarded.get(boxPort);
        if (f == null) {
            if (forwarded.size() >= MAX_FORWARDS) {
                throw new IOException("at most " + MAX_FORWARDS + " ports of an environment are tunnelled at once");
            }
            f = slirp.forward(boxPort);
            forwarded.put(boxPort, f);
        }
        f.users++;
        return f.hostPort();
    }

    @Override
    public synchronized void unforward(int boxPort) {
        Slirp.Forward f = forwarded.get(boxPort);
        if (f != null && --f.users <= 0) {
            forwarded.remove(boxPort);
            try {
                slirp.remove(f);
            } catch (IOException e) {
                log.debug("forward of port {} of {} not removed: {}", boxPort, spec.name(), e.getMessage());
            }
        }
    }

    @Override
    public synchronized boolean forwarding(int boxPort) {
        return forwarded.containsKey(boxPort);
    }

    @Override
    public boolean ownNetwork() {
        return slirp != null || spec.network() != null && spec.network().ownNetwork();
    }

    @Override
    public Long networkHolder() {
        // the process whose user and network namespaces a gang's other nodes enter: the keeper's chain below bwrap
        return ownNetwork() ? init.parent().map(ProcessHandle::pid).orElse(null) : null;
    }

    @Override
    public void limitGrowth(boolean limited) {
        if (group == null) {
            return;
        }
        growthLimited = limited;
        String value = limited ? "0:0" : "unlimited:unlimited";
        // frozen meanwhile: no process forks past the list, none exits and leaves its pid to another
        Cgroups.frozen(group, members -> {
            for (long pid : members) {
                try {
                    new ProcessBuilder("/usr/bin/prlimit", "--pid", Long.toString(pid), "--fsize=" + value)
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                            .waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (IOException e) {
                    log.debug("file-size limit of {} not set: {}", pid, e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        });
    }

    @Override
    public Limits limits() {
        return group == null ? Limits.NONE : spec.limits();
    }

    @Override
    public boolean alive() {
        return init.isAlive() && insideAlive();
    }

    @Override
    public boolean ended() {
        return group == null ? !init.isAlive() : Cgroups.members(group).isEmpty();
    }

    @Override
    public void close() {
        if (group != null) {
            if (!Cgroups.kill(group)) {
                log.warn("environment {}: some of its processes did not end (tried again)", spec.name());
                return; // its state stays: it is still there, and ended again by the next removal
            }
        } else {
            if (keeper != null) {
                keeper.destroy();
                try {
                    if (!keeper.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                        keeper.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    keeper.destroyForcibly();
                }
            }
            init.destroyForcibly();
        }
        if (slirp != null) {
            slirp.close();
        }
        try {
            Files.deleteIfExists(spec.envDir().resolve(STATE));
        } catch (IOException e) {
            log.debug("{} of {} stays: {}", STATE, spec.name(), e.getMessage());
        }
        log.debug("box of {} closed", spec.name());
    }
}
