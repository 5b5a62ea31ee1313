package dev.gpudev.backend.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Every environment's own control groups: a memory and a process limit, and the one handle on
 * everything it runs (its box, its sessions, its network helper, its Jupyter), which is how an
 * environment outlives the server and how it is ended whoever started what in it. cgroup v2 where the
 * host delegates memory and pids there; else v1's memory and pids hierarchies. Groups live under
 * {@code gpudev/<scope>/<environment>}, the scope being the server's data dir, so two servers on one
 * machine never touch each other's.
 */
final class Cgroups {
    private static final Logger log = LoggerFactory.getLogger(Cgroups.class);
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private final boolean v2;
    /** v2: the scope's directory; v1: the memory hierarchy's. */
    private final Path memoryScope;
    /** v1 only: the pids hierarchy's (v2: the same as memory). */
    private final Path pidsScope;
    /** v1 only, where the freezer is mounted: the freezer hierarchy's (v2 freezes through cgroup.freeze); else null. */
    private final Path freezerScope;

    private Cgroups(boolean v2, Path memoryScope, Path pidsScope, Path freezerScope) {
        this.v2 = v2;
        this.memoryScope = memoryScope;
        this.pidsScope = pidsScope;
        this.freezerScope = freezerScope;
    }

    /** An environment's groups: where its processes are put, and its limits. */
    record Group(String name, Path memory, Path pids, Path freezer, boolean v2) {
        /** The files a process joins the group through (its pid written to each). */
        List<Path> procs() {
            if (v2) {
                return List.of(memory.resolve("cgroup.procs"));
            }
            List<Path> out = new ArrayList<>(List.of(memory.resolve("cgroup.procs"), pids.resolve("cgroup.procs")));
            if (freezer != null && Files.isDirectory(freezer)) {
                out.add(freezer.resolve("cgroup.procs"));
            }
            return out;
        }
    }

    /** The groups of this machine for one server's environments, or empty where they cannot be made (not root, none mounted). */
    static Optional<Cgroups> forScope(String scope) {
        if (!Accounts.serverIsRoot()) {
            return Optional.empty();
        }
        try {
            Path v2controllers = ROOT.resolve("cgroup.controllers");
            if (Files.exists(v2controllers)) {
                String controllers = Files.readString(v2controllers);
                if (controllers.contains("memory") && controllers.contains("pids")) {
                    Path scopeDir = ROOT.resolve("gpudev").resolve(scope);
                    enableV2(ROOT.resolve("gpudev"));
                    enableV2(scopeDir);
                    return Optional.of(new Cgroups(true, scopeDir, scopeDir, null));
                }
                return Optional.empty();
            }
            Path memory = ROOT.resolve("memory");
            Path pids = ROOT.resolve("pids");
            if (Files.isWritable(memory.resolve("cgroup.procs")) && Files.isWritable(pids.resolve("cgroup.procs"))) {
                Path m = memory.resolve("gpudev").resolve(scope);
                Path p = pids.resolve("gpudev").resolve(scope);
                Files.createDirectories(m);
                Files.createDirectories(p);
                Path freezer = ROOT.resolve("freezer");
                Path f = null;
                if (Files.isWritable(freezer.resolve("cgroup.procs"))) {
                    f = freezer.resolve("gpudev").resolve(scope);
                    Files.createDirectories(f);
                }
                return Optional.of(new Cgroups(false, m, p, f));
            }
        } catch (IOException e) {
            log.warn("control groups cannot be made here ({}): environments get no memory or process limit", e.getMessage());
        }
        return Optional.empty();
    }

    private static void enableV2(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path parentControl = dir.getParent().resolve("cgroup.subtree_control");
        Files.writeString(parentControl, "+memory +pids");
    }

    /** Makes (or finds again) an environment's groups with these limits. */
    Group create(String name, long memoryBytes, int processes) throws IOException {
        Group g = group(name);
        Files.createDirectories(g.memory());
        Files.createDirectories(g.pids());
        if (g.freezer() != null) {
            Files.createDirectories(g.freezer());
        }
        if (v2) {
            write(g.memory().resolve("memory.max"), Long.toString(memoryBytes));
            writeIfExists(g.memory().resolve("memory.swap.max"), "0");
            write(g.pids().resolve("pids.max"), Integer.toString(processes));
        } else {
            write(g.memory().resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
            // no way around the limit through swap
            writeIfExists(g.memory().resolve("memory.memsw.limit_in_bytes"), Long.toString(memoryBytes));
            write(g.pids().resolve("pids.max"), Integer.toString(processes));
        }
        return g;
    }

    Group group(String name) {
        return new Group(name, memoryScope.resolve(name), pidsScope.resolve(name), freezerScope == null ? null : freezerScope.resolve(name), v2);
    }

    /** The environments' names that have groups here (a restarted server finds its boxes by them too). */
    List<String> names() {
        List<String> out = new ArrayList<>();
        try (var dirs = Files.list(pidsScope)) {
            dirs.filter(Files::isDirectory).forEach(d -> out.add(d.getFileName().toString()));
        } catch (IOException e) {
            // none
        }
        return out;
    }

    /** The scope's own directories, when no environment's group is left in them (a server that stops leaves none behind). */
    void removeScopeIfEmpty() {
        for (Path dir : java.util.stream.Stream.of(memoryScope, pidsScope, freezerScope).filter(java.util.Objects::nonNull).distinct().toList()) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // an environment's group is still in it: it stays
            }
        }
    }

    /** The processes in a group now. */
    static List<Long> members(Group g) {
        List<Long> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(g.pids().resolve("cgroup.procs"))) {
                if (!line.isBlank()) {
                    out.add(Long.parseLong(line.trim()));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return out;
    }

    /**
     * Runs an action on the group's processes while they are frozen (none can fork or exit meanwhile, so
     * the list it acts on is the whole group); without a freezer, on the list as it is.
     */
    static void frozen(Group g, java.util.function.Consumer<List<Long>> action) {
        boolean froze = freeze(g, true);
        try {
            action.accept(members(g));
        } finally {
            if (froze) {
                freeze(g, false);
            }
        }
    }

    private static boolean freeze(Group g, boolean frozen) {
        try {
            if (g.v2()) {
                Path f = g.memory().resolve("cgroup.freeze");
                if (!Files.exists(f)) {
                    return false;
                }
                Files.writeString(f, frozen ? "1" : "0");
                return awaitState(g.memory().resolve("cgroup.events"), frozen ? "frozen 1" : "frozen 0");
            }
            if (g.freezer() == null || !Files.isDirectory(g.freezer())) {
                return false;
            }
            Files.writeString(g.freezer().resolve("freezer.state"), frozen ? "FROZEN" : "THAWED");
            return awaitState(g.freezer().resolve("freezer.state"), frozen ? "FROZEN" : "THAWED");
        } catch (IOException e) {
            log.debug("group {} not {}: {}", g.name(), frozen ? "frozen" : "thawed", e.getMessage());
            return false;
        }
    }

    private static boolean awaitState(Path file, String state) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.readString(file).contains(state)) {
                return true;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /**
     * Ends every process of the group and removes it; true when nothing is left. Frozen first, so that no
     * process can fork or exit while the list is killed (a chain of forks cannot outrun it); then thawed, and
     * the killed are gone.
     */
    static boolean kill(Group g) {
        Path killFile = g.memory().resolve("cgroup.kill");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (members(g).isEmpty()) {
                break;
            }
            if (g.v2() && Files.exists(killFile)) {
                try {
                    Files.writeString(killFile, "1");
                } catch (IOException e) {
                    frozen(g, left -> left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly)));
                }
            } else {
                frozen(g, left -> left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly)));
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean empty = members(g).isEmpty();
        if (!empty) {
            return false; // kept: its processes are still there (the caller keeps their GPUs taken)
        }
        List<Path> dirs = new ArrayList<>(g.v2() ? List.of(g.memory()) : List.of(g.memory(), g.pids()));
        if (g.freezer() != null) {
            dirs.add(g.freezer());
        }
        for (Path dir : dirs) {
            try {
                Files.deleteIfExists(dir);
                if (!g.v2()) {
                    Files.deleteIfExists(dir.getParent()); // the scope, once its last environment is gone (v2 keeps it: its controllers are set)
                }
            } catch (IOException e) {
                log.debug("group {} not removed yet: {}", dir, e.getMessage());
            }
        }
        return true;
    }

    /**
     * The command that puts itself into the group, then runs cmd (as root, before anything drops
     * privileges): every process cmd starts is in the group from its first instruction.
     */
    static List<String> joining(Group g, List<String> cmd) {
        List<Path> procs = g.procs();
        List<String> c = new ArrayList<>(List.of("/bin/sh", "-c",
                "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; n=$((n-1)); done; exec \"$@\"",
                "gpudev-cgroup", Integer.toString(procs.size())));
        procs.forEach(p -> c.add(p.toString()));
        c.addAll(cmd);
        return c;
    }

    private static void write(Path file, String value) throws IOException {
        Files.writeString(file, value);
    }

    private static void writeIfExists(Path file, String value) {
        if (Files.exists(file)) {
            try {
                Files.writeString(file, value);
            } catch (IOException e) {
                log.debug("{} not set: {}", file, e.getMessage());
            }
        }
    }
}
