package dev.gpudev.server;

import dev.gpudev.store.EmbeddedPostgres;
import dev.gpudev.store.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server on an external PostgreSQL given by --database-url instead of its embedded one. */
class ExternalDatabaseTest {
    @Test
    void databaseUrlsBecomeJdbcSettings() {
        var u = DatabaseUrl.parse("postgresql://gpu%40dev:p%3Ass@db.internal:6543/gpus?sslmode=require");
        assertEquals("jdbc:postgresql://db.internal:6543/gpus?sslmode=require", u.jdbcUrl());
        assertEquals("gpu@dev", u.user());
        assertEquals("p:ss", u.password());
        assertEquals("jdbc:postgresql://h:5432/gpudev", DatabaseUrl.parse("postgres://h").jdbcUrl());
        assertThrows(dev.gpudev.core.ValidationException.class, () -> DatabaseUrl.parse("mysql://h/db"));
    }

    @Test
    void theServerRunsOnAnExternalDatabase(@TempDir Path dataDir) throws Exception {
        EmbeddedPostgres pg = TestDatabase.server(); // a PostgreSQL the server did not start
        pg.createDatabase("external_gpudev");
        String url = pg.jdbcUrl("external_gpudev") + "&user=" + pg.appUser() + "&password=" + pg.appPassword();
        int exit = Main.commandLine().execute("--help");
        assertEquals(0, exit);
        var main = new Main();
        new picocli.CommandLine(main).parseArgs("--port", "0", "--ssh-port", "0", "--data-dir", dataDir.toString(),
                "--database-url", url, "--simulated-gpus", "h100:1", "--stop-environments-on-exit");
        try (Platform platform = new Platform(main.config())) {
            var res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + platform.apiPort() + "/health"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, res.statusCode());
            assertTrue(res.body().contains("\"database\":\"ok\""), res.body());
        }
        assertFalse(Files.exists(dataDir.resolve("pgdata")), "no embedded database was started");
    }

    @Test
    void aProcessorOfItsOwnAnswersItsProbesAndNothingElse(@TempDir Path dataDir) throws Exception {
        EmbeddedPostgres pg = TestDatabase.server();
        pg.createDatabase("processor_health");
        String url = pg.jdbcUrl("processor_health") + "&user=" + pg.appUser() + "&password=" + pg.appPassword();
        var main = new Main();
        new picocli.CommandLine(main).parseArgs("--role", "processor", "--port", "0", "--data-dir", dataDir.toString(),
                "--database-url", url, "--simulated-gpus", "h100:1", "--stop-environments-on-exit");
        try (Platform platform = new Platform(main.config())) {
            var http = HttpClient.newHttpClient();
            var res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + platform.healthPort() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, res.statusCode(), res.body());
            assertTrue(res.body().contains("\"status\":\"ok\"") && res.body().contains("last_turn_ms_ago"), res.body());
            var other = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + platform.healthPort() + "/v1/jobs")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, other.statusCode(), "a processor serves nothing but its health");
        }
    }

    @Test
    void aBadSettingIsRefusedBeforeAnythingStarts(@TempDir Path dataDir) {
        var main = new Main();
        main.env = java.util.Map.of("API_KEY_TTL", "forever");
        new picocli.CommandLine(main).parseArgs("--data-dir", dataDir.toString());
        var e = assertThrows(IllegalArgumentException.class, main::config);
        assertTrue(e.getMessage().contains("API_KEY_TTL"), e.getMessage());
        assertFalse(Files.exists(dataDir.resolve("pgdata")), "no database was started");
    }
}
