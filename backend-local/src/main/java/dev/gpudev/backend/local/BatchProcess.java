package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An environment's batch run: the wrapper ({@code gpudev-run}, the same file the dev image runs) started
 * once in its box, as its owner, then followed to its end; the end's exit code and the last of the log
 * are read as the owner, inside the box, off every caller's thread, and {@link #ended} says them from
 * memory. A server that takes a running box over follows the wrapper a server before it started (its pid
 * is kept in the environment's directory, the server's) and reads the code the wrapper recorded.
 */
final class BatchProcess {
    private static final Logger log = LoggerFactory.getLogger(BatchProcess.class);
    static final String PID_FILE = "run.pid";
    static final Duration READ_DEADLINE = Duration.ofSeconds(15);
    private static final ExecutorService READERS = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("batch-run-end-", 0).factory());
    private static final String SCRIPT = script();

    private final ProcessHandle process;
    private final CompletableFuture<Observed.RunEnd> end = new CompletableFuture<>();

    private BatchProcess(ProcessHandle process) {
        this.process = process;
    }

    /** How it ended, once it did and its end was read; null before. */
    Observed.RunEnd ended() {
        return end.getNow(null);
    }

    /** Starts the spec's run in the box (the wrapper never runs a command twice: it keeps its own record in the home). */
    static BatchProcess start(EnvironmentSpec spec, Box box, Path envDir) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/bin/bash", "-c", SCRIPT, "gpudev-run"));
        cmd.addAll(spec.run().command());
        Map<String, String> env = new java.util.HashMap<>(Map.of("GPUDEV_RUN_NAME", spec.name()));
        if (spec.run().workdir() != null) {
            env.put("GPUDEV_RUN_WORKDIR", spec.run().workdir());
        }
        Process p = new ProcessBuilder(box.command(cmd, env)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        Files.writeString(envDir.resolve(PID_FILE), p.pid() + " " + p.toHandle().info().startInstant().map(Object::toString).orElse(""));
        BatchProcess run = new BatchProcess(p.toHandle());
        p.onExit().thenAcceptAsync(x -> run.read(box, spec.name(), x.exitValue()), READERS);
        return run;
    }

    /**
     * The run a server before this one started in a box now taken over: followed to its end (then its recorded
     * code is read); when it ended meanwhile, its end is read at once; never started again.
     */
    static BatchProcess adopt(EnvironmentSpec spec, Box box, Path envDir) {
        Optional<ProcessHandle> handle = Optional.empty();
        try {
            String[] f = Files.readString(envDir.resolve(PID_FILE)).trim().split(" ");
            handle = ProcessHandle.of(Long.parseLong(f[0]))
                    .filter(h -> f.length < 2 || h.info().startInstant().map(i -> i.toString().equals(f[1])).orElse(false));
        } catch (IOException | RuntimeException e) {
            // no record of it: what it left in the home says how it ended
        }
        BatchProcess run = new BatchProcess(handle.orElse(null));
        CompletableFuture<?> gone = handle.map(ProcessHandle::onExit).orElse(CompletableFuture.completedFuture(null));
        gone.thenRunAsync(() -> run.read(box, spec.name(), null), READERS);
        return run;
    }

    /** Reads the end as the owner: the code the process gave (null: adopted, the one it recorded), and the log's end. */
    private void read(Box box, String environment, Integer exitValue) {
        Integer code = exitValue;
        String tail;
        try {
            Map.Entry<Integer, String> e = TenantJobs.runEnd(box, environment, Observed.RunEnd.TAIL_BYTES, READ_DEADLINE);
            if (code == null) {
                code = e.getKey();
            }
            tail = e.getValue();
        } catch (BackendException | RuntimeException e) {
            tail = "(the end of its output could not be read: " + e.getMessage() + ")";
        }
        if (code == null) {
            code = 137; // it left no code: it was killed before it could write one
        }
        log.info("environment {}: its command ended with exit code {}", environment, code);
        end.complete(new Observed.RunEnd(code, tail));
    }

    /** Ends the run and what it started (the box ending ends them too). */
    void stop() {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
    }

    private static String script() {
        try (InputStream in = BatchProcess.class.getResourceAsStream("gpudev-run")) {
            if (in == null) {
                throw new IllegalStateException("gpudev-run is missing from backend-local's resources");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
