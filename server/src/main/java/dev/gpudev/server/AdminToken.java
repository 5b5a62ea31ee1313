package dev.gpudev.server;

import dev.gpudev.store.Database;
import dev.gpudev.store.EmbeddedPostgres;
import dev.gpudev.store.Users;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * `gpu-dev server admin-token`: a new one-time admin login token in the data dir (0600), for whoever
 * runs the server (it reads the data dir's database secrets). Works whether the server runs or not.
 */
@Command(name = "admin-token", mixinStandardHelpOptions = true,
        description = "Writes a new one-time admin login token to <data-dir>/admin-token (e.g. when the admin lost their key).")
final class AdminToken implements Callable<Integer> {

    @Option(names = "--data-dir", description = "the server's data dir (default $GPUDEV_HOME, else ~/.gpudev/server)")
    Path dataDir;

    @Option(names = "--database-url", description = "the server's external PostgreSQL, if it has one")
    String databaseUrl;

    @Option(names = "--username", description = "the admin's username (default: the OS user)")
    String username;

    @Override
    public Integer call() throws Exception {
        Path dir = (dataDir != null ? dataDir : ServerConfig.defaultDataDir()).toAbsolutePath();
        String name = username != null ? dev.gpudev.core.Names.check("username", username) : Bootstrap.adminName();
        EmbeddedPostgres started = null;
        Database db;
        if (databaseUrl != null) {
            var u = DatabaseUrl.parse(databaseUrl);
            db = Database.connect(u.jdbcUrl(), u.user(), u.password(), 2);
        } else {
            if (!Files.exists(dir.resolve("pgdata/PG_VERSION"))) {
                throw new IllegalArgumentException("no server data in " + dir + ": start the server once (it makes the first token itself)");
            }
            Path appSecret = dir.resolve("pg-secrets/app");
            Path socket = dir.resolve("pg-run/.s.PGSQL.5432");
            if (!Files.exists(socket)) {
                started = EmbeddedPostgres.start(dir.resolve("pg-binaries"), dir); // the server is not running
            }
            String url = "jdbc:postgresql://localhost/gpudev?socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg"
                    + "&socketFactoryArg=" + socket;
            db = Database.connect(url, EmbeddedPostgres.APP_ROLE, Files.readString(appSecret).trim(), 2);
        }
        try (db) {
            Path file = Bootstrap.newToken(db, new Users(), dir, name);
            System.out.println("A one-time admin token for " + name + " (valid " + Bootstrap.LIFETIME.toDays() + " days): " + file);
            System.out.println("  ./gpu-dev login --token-file " + file);
        } finally {
            if (started != null) {
                started.close();
            }
        }
        return 0;
    }
}
