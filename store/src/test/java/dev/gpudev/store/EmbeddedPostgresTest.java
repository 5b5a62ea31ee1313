package dev.gpudev.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedded PostgreSQL: reachable by the server only, as a role that cannot leave the database, and supervised. */
class EmbeddedPostgresTest {
    static final Path BINARIES = Path.of(System.getProperty("java.io.tmpdir"), "gpudev-pg-binaries");

    static Connection app(EmbeddedPostgres pg, String db) throws SQLException {
        return DriverManager.getConnection(pg.jdbcUrl(db), pg.appUser(), pg.appPassword());
    }

    @Test
    void theApplicationsRoleIsNoSuperuserAndCannotReadFilesOrRunPrograms() throws Exception {
        EmbeddedPostgres pg = TestDatabase.server();
        pg.createDatabase("hardened");
        try (Connection c = app(pg, "hardened"); var st = c.createStatement()) {
            var rs = st.executeQuery("select rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user");
            rs.next();
            assertFalse(rs.getBoolean(1) || rs.getBoolean(2) || rs.getBoolean(3), "no superuser, no roles, no databases");
            for (String escape : List.of("select pg_read_file('PG_VERSION')", "copy (select 1) to program 'true'",
                    "select pg_ls_dir('.')", "create role sneaky superuser", "alter role gpudev_app superuser")) {
                var e = assertThrows(SQLException.class, () -> st.execute(escape), escape);
                assertEquals("42501", e.getSQLState(), escape + ": " + e.getMessage());
            }
            st.execute("create table mine (x int)"); // its own database is its own
        }
    }

    @Test
    void asRootItRunsAsAnUnprivilegedUidOfItsOwnThatCannotReadRootsFiles() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))),
                "the server runs as root here");
        EmbeddedPostgres pg = TestDatabase.server();
        String status = Files.readString(Path.of("/proc/" + pg.pid() + "/status"));
        String uids = status.lines().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow();
        assertTrue(uids.matches("Uid:\\s+" + EmbeddedPostgres.PG_UID + "\\s+" + EmbeddedPostgres.PG_UID + ".*"), "its own uid: " + uids);
        assertTrue(status.contains("CapEff:\t0000000000000000") && status.contains("CapBnd:\t0000000000000000"), "no capabilities");
        assertEquals(EmbeddedPostgres.PG_UID, Files.getAttribute(pg.socketDir().resolveSibling("pgdata"), "unix:uid"), "its files are its own");
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), EmbeddedPostgres.SUPERUSER, pg.superuserPassword());
             var st = c.createStatement()) {
            // even its superuser reads files only as that uid: root's are out of reach
            var e = assertThrows(SQLException.class, () -> st.executeQuery("select pg_read_file('/etc/shadow')"));
            assertTrue(e.getMessage().contains("ermission denied"), e.getMessage());
            var w = assertThrows(SQLException.class, () -> st.execute("copy (select 'x') to '/root/gpudev-pg-was-here'"));
            assertTrue(w.getMessage().contains("ermission denied") || w.getMessage().contains("No such file"), w.getMessage());
        }
    }

    @Test
    void nothingListensOnTcpAndTheSocketAndSecretsArePrivate() throws Exception {
        EmbeddedPostgres pg = TestDatabase.server();
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), EmbeddedPostgres.SUPERUSER, pg.superuserPassword());
             var st = c.createStatement()) {
            var rs = st.executeQuery("show listen_addresses");
            rs.next();
            assertEquals("", rs.getString(1), "no TCP at all");
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pg.socketDir())));
        Path secrets = pg.socketDir().resolveSibling("pg-secrets");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secrets.resolve("app"))));
        var refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.appUser(), "guess"));
        assertEquals("28P01", refused.getSQLState(), "a wrong password is refused");
    }

    @Test
    void aKilledPostgresIsStartedAgainAndKeepsWhatWasCommitted(@TempDir Path dir) throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(BINARIES, dir)) {
            pg.createDatabase("kept");
            try (Connection c = app(pg, "kept"); var st = c.createStatement()) {
                st.execute("create table t (x int)");
                st.execute("insert into t values (42)");
            }
            new ProcessBuilder("kill", "-9", Long.toString(pg.pid())).start().waitFor();
            Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
            while (true) {
                try (Connection c = app(pg, "kept"); var st = c.createStatement()) {
                    var rs = st.executeQuery("select x from t");
                    rs.next();
                    assertEquals(42, rs.getInt(1), "a committed row survives the crash");
                    break;
                } catch (SQLException notYet) {
                    assertTrue(Instant.now().isBefore(deadline), "not back within 10 s: " + notYet.getMessage());
                    Thread.sleep(100);
                }
            }
            // The supervisor counts a restart once the new server is up, which may be just after it answered us.
            while (pg.restarts() == 0 && Instant.now().isBefore(deadline)) {
                Thread.sleep(20);
            }
            assertEquals(1, pg.restarts());
        }
    }

    @Test
    void aClusterFromBeforePasswordsIsUpgradedInPlace(@TempDir Path dir) throws Exception {
        // The old way: trust on 127.0.0.1, the database and its tables owned by the superuser.
        Path bin = PgBinaries.extract(BINARIES);
        Path data = dir.resolve("pgdata");
        boolean root = "0".equals(String.valueOf(Files.getAttribute(Path.of("/proc/self"), "unix:uid")));
        List<String> wrap = root ? List.of("unshare", "--map-user=1000", "--map-group=1000") : List.of();
        run(wrap, bin.resolve("bin/initdb").toString(), "-A", "trust", "-U", "postgres", "-D", data.toString(), "--no-sync");
        var cmd = new java.util.ArrayList<>(wrap);
        cmd.addAll(List.of(bin.resolve("bin/postgres").toString(), "-D", data.toString(), "-p", "5432", "-c", "listen_addresses=",
                "-c", "unix_socket_directories=" + dir));
        Process old = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("old.log").toFile()).start();
        String url = "jdbc:postgresql://localhost/postgres?socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg"
                + "&socketFactoryArg=" + dir.resolve(".s.PGSQL.5432");
        Connection c = null;
        for (int i = 0; i < 200 && c == null; i++) {
            try {
                c = DriverManager.getConnection(url, "postgres", "");
            } catch (SQLException notYet) {
                Thread.sleep(50);
            }
        }
        c.createStatement().execute("create database gpudev");
        c.close();
        try (Connection g = DriverManager.getConnection(url.replace("/postgres?", "/gpudev?"), "postgres", "")) {
            g.createStatement().execute("create table reservations (id serial primary key, note text)");
            g.createStatement().execute("insert into reservations (note) values ('from before')");
        }
        new ProcessBuilder("kill", "-INT", Long.toString(old.pid())).start().waitFor();
        old.waitFor();

        try (EmbeddedPostgres pg = EmbeddedPostgres.start(BINARIES, dir)) {
            pg.createDatabase("gpudev");
            try (Connection g = app(pg, "gpudev"); var st = g.createStatement()) {
                var rs = st.executeQuery("select note from reservations");
                rs.next();
                assertEquals("from before", rs.getString(1), "nothing lost");
                st.execute("insert into reservations (note) values ('after')"); // the sequence came along
                st.execute("alter table reservations add column more text"); // and the table is the app's own now
            }
            assertThrows(SQLException.class, () -> DriverManager.getConnection(pg.jdbcUrl("postgres"), "postgres", ""),
                    "trust is over: the superuser needs its password");
            assertTrue(Files.readString(data.resolve("pg_hba.conf")).contains("scram-sha-256"));
        }
    }

    private static void run(List<String> wrap, String... args) throws Exception {
        var cmd = new java.util.ArrayList<>(wrap);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
    }
}
