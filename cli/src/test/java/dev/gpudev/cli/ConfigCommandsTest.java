package dev.gpudev.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's own settings: no server involved. */
class ConfigCommandsTest {
    @TempDir
    Path home;

    record Run(int exit, String out) {
    }

    Run run(Map<String, String> env, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true));
            System.setErr(new PrintStream(buf, true));
            int exit = Main.run(args, env);
            return new Run(exit, buf.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    Run run(String... args) {
        return run(Map.of("HOME", home.toString()), args);
    }

    @Test
    void theApiUrlComesFromTheFlagThenTheEnvironmentThenTheConfigFile() throws Exception {
        assertTrue(run("config", "show").out().contains("api_url:     http://127.0.0.1:8080"));
        assertEquals(0, run("config", "set", "api_url", "https://gpudev.example.com/").exit());
        assertTrue(Files.readString(home.resolve(".config/gpu-dev/config.json")).contains("https://gpudev.example.com/"));
        assertTrue(run("config", "show").out().contains("api_url:     https://gpudev.example.com"), "from the config file");
        assertTrue(run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", "http://env:1"), "config", "show").out()
                .contains("api_url:     http://env:1"), "the environment beats the file");
        assertTrue(run("config", "show", "--api-url", "http://flag:2").out().contains("api_url:     http://flag:2"), "the flag beats both");
    }

    @Test
    void badSettingsAreRefusedWithExit2() {
        assertEquals(2, run("config", "set", "api_url", "ftp://nope").exit());
        assertEquals(2, run("config", "set", "colour", "blue").exit());
        assertEquals(2, run("config", "set").exit());
    }

    @Test
    void sshIncludeAddsTheIncludeOnceAtTheTop() throws Exception {
        Files.createDirectories(home.resolve(".ssh"));
        Files.writeString(home.resolve(".ssh/config"), "Host work\n  HostName work.example.com\n");
        assertEquals(0, run("config", "ssh-include").exit());
        assertEquals(0, run("config", "ssh-include").exit());
        String cfg = Files.readString(home.resolve(".ssh/config"));
        assertTrue(cfg.startsWith("Include " + home.resolve(".gpu-dev/ssh_config")), cfg);
        assertEquals(1, cfg.lines().filter(l -> l.startsWith("Include")).count());
        assertTrue(cfg.contains("Host work"), "the user's own hosts stay");
    }

    @Test
    void commandsThatNeedALoginSaySo() {
        Run r = run("list");
        assertEquals(2, r.exit());
        assertTrue(r.out().contains("not logged in"), r.out());
    }
}
