package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The image tools (skopeo, umoci, buildah) run by the server: with an environment of their own, a deadline,
 * and stopped when the data dir's disk nears full or they say too much (a small image or context may unpack
 * huge); only the end of what they said is ever read.
 */
final class Tools {
    /** Free space the data dir's file system keeps while a tool runs. */
    static final long KEEP_FREE_BYTES = 2L << 30;
    /** What a tool may write to its log. */
    static final long MAX_LOG_BYTES = 64L << 20;

    private Tools() {
    }

    /** A tool's failure, in words. */
    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    /** Nothing of the server's environment, and no home with the server's credentials: this folder is theirs. */
    static Map<String, String> cleanEnv(Path home) {
        return Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "HOME", home.toString(), "TMPDIR", home.toString());
    }

    /**
     * Runs a tool to its end, its output appended to {@code log}; throws {@link Failed} with its last words when
     * it fails, and stops it at the deadline ({@link System#nanoTime()}), when {@code disk}'s file system nears full,
     * or when its log grows past {@link #MAX_LOG_BYTES}.
     */
    static void run(List<String> cmd, Map<String, String> env, Path log, long deadline, String what, Path disk) throws IOException, Failed {
        long from = Files.exists(log) ? Files.size(log) : 0;
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        java.nio.file.FileStore store = Files.getFileStore(disk);
        try {
            while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
                String stop = System.nanoTime() > deadline ? " took too long (past its deadline)"
                        : store.getUsableSpace() < KEEP_FREE_BYTES ? " stopped: the machine's disk is nearly full (it is too large here)"
                        : Files.size(log) - from > MAX_LOG_BYTES ? " stopped: the tool said too much" : null;
                if (stop != null) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    throw new Failed(what + stop);
                }
            }
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new Failed(what + ": the server is stopping");
        }
        if (p.exitValue() != 0) {
            throw new Failed(what + " failed: " + reason(tail(log, 4096)));
        }
    }

    /** The last bytes of a file, as text (never the whole of a long one). */
    static String tail(Path file, int bytes) throws IOException {
        try (var f = new java.io.RandomAccessFile(file.toFile(), "r")) {
            long from = Math.max(0, f.length() - bytes);
            byte[] b = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    /** The tool's last words, made short: the registry's reason ("manifest unknown", "connection refused"). */
    static String reason(String output) {
        String last = output.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce((a, b) -> b).orElse("no reason given");
        last = last.replaceFirst("^time=\"[^\"]*\" level=\\w+ msg=\"", "").replaceFirst("\"$", "");
        last = last.replaceFirst("^(Error|FATA\\[\\d+\\]):?\\s*", "");
        return last.length() > 300 ? last.substring(0, 300) + "…" : last;
    }
}
