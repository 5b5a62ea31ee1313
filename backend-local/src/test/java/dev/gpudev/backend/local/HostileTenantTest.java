package dev.gpudev.backend.local;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.processor.Parts;
import dev.gpudev.processor.Processor;
import dev.gpudev.processor.ProcessorSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tenant who sets traps where the platform writes: links to the server's files, FIFOs, a terminal that
 * takes no output. The processor runs on its own thread with its workers, as in production, on the
 * machine's best sandbox (bubblewrap where installed). Nobody else waits, and nothing of the server's is
 * written.
 */
class HostileTenantTest extends LocalProcessorFixture {
    private final List<Process> started = new ArrayList<>();
    private Processor running;

    @Override
    Sandbox sandbox() {
        return Sandbox.detect();
    }

    @AfterEach
    void stopAll() {
        if (running != null) {
            running.close();
        }
        started.forEach(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
    }

    private Processor startProcessor() {
        running = new Processor(Parts.of(db, pgmq, commands, backend, clock),
                ProcessorSettings.defaults().withPollInterval(Duration.ofMillis(200)));
        running.start();
        return running;
    }

    private static void await(String what, Duration within, BooleanSupplier done) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + within.toMillis() + " ms");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Runs a shell command in the environment as its tenant; waits for it unless it is to stay. */
    private Process asTenant(String env, String script, boolean stays) throws Exception {
        Process p = new ProcessBuilder(LocalBackendProbe.commandIn(backend, env, List.of("/bin/sh", "-c", script))).redirectErrorStream(true).start();
        if (stays) {
            started.add(p);
            return p;
        }
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the tenant's command finished");
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), out);
        return p;
    }

    @Test
    void linksFifosAndAStoppedTerminalWhereNoticesGoHoldUpNobodyAndWriteNothingOfTheServers() throws Exception {
        Path victim = dataDir.resolve("precious");
        Files.writeString(victim, "the server's own\n");
        Path vault = Files.createDirectories(dataDir.resolve("vault"));
        Files.setPosixFilePermissions(vault, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        long bob = user("bob");
        UUID trap = submit(1, "0.6", Reservation.Options.NONE);
        UUID toCancel = submit(1, "1", Reservation.Options.NONE);
        startProcessor();
        await("the tenant's environments running", Duration.ofSeconds(20),
                () -> get(trap).status() == ReservationStatus.ACTIVE && get(toCancel).status() == ReservationStatus.ACTIVE);
        String env = Reservation.environmentName(trap);
        // Every name the platform writes into a home: links to the server's files, and FIFOs.
        asTenant(env, "cd \"$HOME\" && ln -s " + victim + " WARN_EXPIRES_IN_30MIN.txt && ln -s " + vault.resolve("planted")
                + " IDLE_WARNING.txt && mkfifo WARN_EXPIRES_IN_15MIN.txt WARN_EXPIRES_IN_5MIN.txt", false);
        // A terminal whose output is stopped, its buffer filled: a write to it blocks.
        asTenant(env, "exec script -qfec \"perl -MPOSIX -e 'POSIX::tcflow(0, POSIX::TCOOFF())'; (yes > /dev/tty &); sleep 120\" /dev/null",
                true);
        Thread.sleep(300); // the terminal fills (only the tenant waits on it)
        // 36 minutes long; 7 minutes in, the 30-minute notice is due (through the link).
        clock.advance(Duration.ofMinutes(7));
        await("the 30-minute warning decided", Duration.ofSeconds(5), () -> get(trap).lifecycle().warningsSent().contains(30));
        UUID bobs = submit(bob, "bob", 1, "1", Reservation.Options.NONE);
        cancel(toCancel);
        await("another user's reservation admitted", Duration.ofSeconds(2), () -> get(bobs).status() != ReservationStatus.QUEUED);
        await("a cancel carried out", Duration.ofSeconds(2), () -> get(toCancel).status() == ReservationStatus.CANCELLED);
        // The 15- and 5-minute notices (FIFOs), then the end: on time.
        clock.advance(Duration.ofMinutes(15));
        await("the 15-minute warning decided", Duration.ofSeconds(5), () -> get(trap).lifecycle().warningsSent().contains(15));
        UUID bobs2 = submit(bob, "bob", 1, "1", Reservation.Options.NONE);
        await("another admission", Duration.ofSeconds(2), () -> get(bobs2).status() != ReservationStatus.QUEUED);
        clock.advance(Duration.ofMinutes(10));
        await("the 5-minute warning decided", Duration.ofSeconds(5), () -> get(trap).lifecycle().warningsSent().contains(5));
        clock.advance(Duration.ofMinutes(5));
        await("the tenant's reservation expired on time", Duration.ofSeconds(2), () -> get(trap).status() == ReservationStatus.EXPIRED);
        // Idle: the idle notice goes through the link too, if anything follows it.
        Thread.sleep(200);
        assertEquals("the server's own\n", Files.readString(victim), "nothing written through the tenant's link");
        assertFalse(Files.exists(vault.resolve("planted"), LinkOption.NOFOLLOW_LINKS), "nothing made in the server's directory");
        Path home = home(trap);
        assertFalse(Files.exists(home.resolve("WARN_EXPIRES_IN_30MIN.txt"), LinkOption.NOFOLLOW_LINKS),
                "the link went with the notices at the end (removed, never followed)");
        assertTrue(Files.exists(home.resolve("WARN_EXPIRES_IN_15MIN.txt"), LinkOption.NOFOLLOW_LINKS), "the FIFO is the tenant's");
        assertFalse(Files.isRegularFile(home.resolve("WARN_EXPIRES_IN_15MIN.txt"), LinkOption.NOFOLLOW_LINKS), "the FIFO left alone");
    }

    @Test
    void aNoticeReachesAPlainFileAndTheTenantsTerminalAsTheTenant() throws Exception {
        UUID id = submit(1, "0.6", Reservation.Options.NONE);
        startProcessor();
        await("running", Duration.ofSeconds(20), () -> get(id).status() == ReservationStatus.ACTIVE);
        String env = Reservation.environmentName(id);
        Process terminal = asTenant(env, "exec script -qfec 'sleep 30' /dev/null", true);
        Thread.sleep(300);
        clock.advance(Duration.ofMinutes(7));
        Path notice = home(id).resolve("WARN_EXPIRES_IN_30MIN.txt");
        await("the notice in the home", Duration.ofSeconds(5), () -> Files.isRegularFile(notice, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.readString(notice).contains("expires in 29 minutes"), Files.readString(notice));
        int expectedOwner = (Integer) Files.getAttribute(home(id), "unix:uid");
        assertEquals(expectedOwner, (Integer) Files.getAttribute(notice, "unix:uid", LinkOption.NOFOLLOW_LINKS), "written by the tenant");
        StringBuilder seen = new StringBuilder();
        var in = terminal.getInputStream();
        await("the message on the terminal", Duration.ofSeconds(5), () -> {
            try {
                while (in.available() > 0) {
                    seen.append((char) in.read());
                }
            } catch (java.io.IOException e) {
                return true;
            }
            return seen.toString().contains("*** gpudev: this environment expires in 29 minutes");
        });
        // The reservation ends: its notices leave the home with it (a kept home never greets the next one).
        cancel(id);
        await("cancelled and cleared", Duration.ofSeconds(5), () -> !Files.exists(notice, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.isDirectory(home(id)), "the home itself stays");
    }
}
