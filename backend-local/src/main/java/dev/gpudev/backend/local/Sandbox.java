package dev.gpudev.backend.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How an environment's processes are started. With bubblewrap: a read-only view of the system, its
 * own writable home, a private /tmp, its own PID namespace, and the server's data (other homes, the
 * database, the admin token) hidden. Without it: a plain process in the home directory, with a clean
 * environment, which `show` reports as not isolated.
 */
public sealed interface Sandbox {

    String describe();

    /** The command line that runs cmd inside the sandbox with exactly the given environment. */
    List<String> wrap(List<String> cmd, Path home, Path hiddenDataDir, Map<String, String> env);

    static Sandbox detect() {
        String bwrap = which("bwrap");
        return bwrap == null ? new Plain() : new Bubblewrap(bwrap);
    }

    /** The path of an executable on PATH, or null. */
    static String which(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path exe = Path.of(dir, name);
            if (Files.isExecutable(exe)) {
                return exe.toString();
            }
        }
        return null;
    }

    record Bubblewrap(String executable) implements Sandbox {
        @Override
        public String describe() {
            return "bubblewrap";
        }

        @Override
        public List<String> wrap(List<String> cmd, Path home, Path hiddenDataDir, Map<String, String> env) {
            List<String> c = new ArrayList<>(List.of(executable, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                    "--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                    "--tmpfs", hiddenDataDir.toString(), "--bind", home.toString(), home.toString(),
                    "--chdir", home.toString(), "--clearenv"));
            env.forEach((k, v) -> c.addAll(List.of("--setenv", k, v)));
            c.add("--");
            c.addAll(cmd);
            return c;
        }
    }

    record Plain() implements Sandbox {
        @Override
        public String describe() {
            return "plain process (not isolated: install bubblewrap)";
        }

        @Override
        public List<String> wrap(List<String> cmd, Path home, Path hiddenDataDir, Map<String, String> env) {
            List<String> c = new ArrayList<>(List.of("/usr/bin/env", "-i", "-C", home.toString()));
            env.forEach((k, v) -> c.add(k + "=" + v));
            c.addAll(cmd);
            return c;
        }
    }
}
