package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What tests see of a local backend's running environments: play the tenant in a box, look at a home. */
final class LocalBackendProbe {
    private LocalBackendProbe() {
    }

    /** The command line that runs cmd in a running environment's box, as its owner (tests play the tenant with it). */
    static List<String> commandIn(LocalBackend backend, String name, List<String> cmd) {
        LocalEnvironment r = backend.running(name);
        if (r == null) {
            throw new IllegalStateException(name + " does not run");
        }
        return r.box().command(cmd, Map.of());
    }

    static Box boxOf(LocalBackend backend, String name) {
        LocalEnvironment r = backend.running(name);
        return r == null ? null : r.box();
    }

    /** Whether an environment lets this key in now. */
    static boolean accepts(LocalBackend backend, String name, String publicKey) {
        LocalEnvironment r = backend.running(name);
        return r != null && r.ssh().accepts(publicKey);
    }

    /** The notices in an environment's home: the platform's files, by name. */
    static Map<String, String> notices(LocalBackend backend, String name) throws IOException {
        LocalEnvironment r = backend.running(name);
        Map<String, String> out = new HashMap<>();
        if (r == null || !Files.isDirectory(r.home())) {
            return out;
        }
        try (var files = Files.list(r.home())) {
            for (Path f : files.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith("WARN_") || n.startsWith("IDLE_")) {
                    out.put(n, Files.readString(f));
                }
            }
        }
        return out;
    }
}
