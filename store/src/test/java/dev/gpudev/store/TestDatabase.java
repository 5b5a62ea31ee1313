package dev.gpudev.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One embedded PostgreSQL per test JVM, and a fresh, migrated database for each caller
 * (a test class), so classes never see each other's rows.
 */
public final class TestDatabase {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static EmbeddedPostgres server;

    private TestDatabase() {
    }

    public static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                Path data = Files.createTempDirectory("gpudev-test-pg");
                Path cache = Path.of(System.getProperty("java.io.tmpdir"), "gpudev-pg-binaries");
                server = EmbeddedPostgres.start(cache, data.resolve("data"));
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    server.close();
                    try {
                        EmbeddedPostgres.deleteRecursively(data);
                    } catch (Exception ignored) {
                        // temp dir: best effort
                    }
                }));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return server;
    }

    /** A new database with every migration applied. */
    public static Database fresh() {
        EmbeddedPostgres pg = server();
        String name = "t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        pg.createDatabase(name);
        return Database.connect(pg.jdbcUrl(name), pg.appUser(), pg.appPassword(), 8).migrate();
    }

    /** A user of this name (made if new) who logs in with this OpenSSH public key; its id. */
    public static long userWithKey(Database db, String username, String publicKey) {
        return db.inTransaction(c -> {
            long id = new Users().ensure(c, username, false).userId();
            var key = dev.gpudev.core.SshPublicKey.parse(publicKey);
            new SshKeys().add(c, id, key.type(), publicKey, key.fingerprint(), key.comment());
            return id;
        });
    }
}
