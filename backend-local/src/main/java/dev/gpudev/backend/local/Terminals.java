package dev.gpudev.backend.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a message to the open terminals of an environment, as wall(1) does: every process that
 * carries the environment's name in its environment and has a pseudo-terminal on stdin.
 */
final class Terminals {
    private static final Logger log = LoggerFactory.getLogger(Terminals.class);

    private Terminals() {
    }

    /** One writer per terminal: the first process found on each. */
    private static java.util.Map<String, Path> dedupe(java.util.Map<Path, Path> byProcess) {
        java.util.Map<String, Path> out = new java.util.TreeMap<>();
        byProcess.forEach((key, fd) -> {
            String tty = key.toString().substring(key.toString().indexOf(':') + 1);
            String device;
            try {
                device = String.valueOf(Files.getAttribute(fd, "unix:rdev")) + "@" + Files.getAttribute(fd, "unix:dev");
            } catch (IOException | UnsupportedOperationException e) {
                device = tty;
            }
            out.putIfAbsent(device, fd);
        });
        return out;
    }

    static void broadcast(String environment, String message) {
        String marker = "GPU_DEV_ENVIRONMENT=" + environment;
        // The process's own stdin, through /proc: a box has its own /dev/pts, so the name it shows is not the host's.
        java.util.Map<Path, Path> ttys = new java.util.TreeMap<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path proc : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String env = new String(Files.readAllBytes(proc.resolve("environ")));
                    if (!("\0" + env).contains("\0" + marker + "\0")) {
                        continue;
                    }
                    Path tty = Files.readSymbolicLink(proc.resolve("fd/0"));
                    if (tty.toString().startsWith("/dev/pts/")) {
                        ttys.putIfAbsent(Path.of(proc.getFileName() + ":" + tty), proc.resolve("fd/0"));
                    }
                } catch (IOException | SecurityException gone) {
                    // the process ended or is not ours to read: skip it
                }
            }
        } catch (IOException e) {
            log.warn("cannot list processes: {}", e.getMessage());
            return;
        }
        for (Path tty : dedupe(ttys).values()) {
            try {
                Files.writeString(tty, "\r\n*** " + message + " ***\r\n");
            } catch (IOException e) {
                log.debug("cannot write to {}: {}", tty, e.getMessage());
            }
        }
    }
}
