package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the CLI reads its options and writes its output, no server involved. */
class CliBehaviourTest {
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
            return new Run(Main.run(args, env), buf.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    Run run(String... args) {
        return run(Map.of("HOME", home.toString()), args);
    }

    @Test
    void globalOptionsWorkBeforeAndAfterTheCommand() {
        Run before = run("--api-url", "http://before:1", "config", "show");
        Run after = run("config", "show", "--api-url", "http://after:2");
        assertTrue(before.out().contains("http://before:1   (from --api-url)"), before.out());
        assertTrue(after.out().contains("http://after:2   (from --api-url)"), after.out());
        Run list = run("--api-url", "http://127.0.0.1:1", "list");
        assertEquals(2, list.exit());
        assertFalse(list.out().contains("Unknown option"), "no usage dump: " + list.out());
    }

    @Test
    void configShowTellsTheUrlCommandsUseAndWhy() throws Exception {
        Settings.writePrivate(home.resolve(".gpu-dev/credentials"),
                "{\"api_url\":\"https://gpus.example.com\",\"api_key\":\"k\",\"username\":\"ann\",\"expires_at\":\"2099-01-01T00:00:00Z\"}");
        Settings.writePrivate(home.resolve(".config/gpu-dev/config.json"), "{\"api_url\":\"http://configured:9\"}");
        Run show = run("config", "show");
        assertTrue(show.out().contains("api_url:     https://gpus.example.com   (from " + home.resolve(".gpu-dev/credentials")
                + " (where you logged in))"), show.out());
        Run env = run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", "http://env:3"), "config", "show");
        assertTrue(env.out().contains("http://env:3   (from GPU_DEV_API_URL)"), env.out());
    }

    @Test
    void aBadValueSaysWhatIsWrongInOneLineAndExits2() {
        Run r = run("reserve", "--gpu-type", "h100", "--hours", "abc");
        assertEquals(2, r.exit());
        assertTrue(r.out().startsWith("error: --hours: 'abc' is not a number"), r.out());
        assertTrue(r.out().lines().count() <= 2, "no usage dump: " + r.out());
    }

    @Test
    void reserveNeverAsksWhenStdinIsNotATerminal() {
        Run r = run("reserve");
        assertEquals(2, r.exit());
        assertTrue(r.out().contains("--gpu-type is required"), r.out());
    }

    @Test
    void completionWorksForDotSlashGpuDevWithoutTheCloneOnThePath(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Run bash = run("completion", "bash");
        java.nio.file.Path script = dir.resolve("completion.bash");
        java.nio.file.Files.writeString(script, bash.out());
        // a stand-in launcher in the clone: what `./gpu-dev list --names` would print
        java.nio.file.Path launcher = dir.resolve("gpu-dev");
        java.nio.file.Files.writeString(launcher, "#!/bin/sh\n[ \"$1 $2\" = \"list --names\" ] && echo alpha beta\n");
        launcher.toFile().setExecutable(true);
        Process p = new ProcessBuilder("bash", "--norc", "--noprofile", "-c", "source " + script + "; complete -p ./gpu-dev;"
                + " COMP_WORDS=(./gpu-dev show al); COMP_CWORD=2; _gpu_dev; echo \"reply=${COMPREPLY[*]}\"")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("complete -F _gpu_dev ./gpu-dev"), out);
        assertTrue(out.contains("reply=alpha"), "names come from the gpu-dev typed, not one on PATH: " + out);
    }

    @Test
    void completionScriptsCoverTheCommandsAndCompleteReservationNames() {
        Run bash = run("completion", "bash");
        assertEquals(0, bash.exit(), bash.out());
        assertTrue(bash.out().contains("complete -F _gpu_dev ./gpu-dev gpu-dev"), bash.out());
        assertTrue(bash.out().contains("reserve") && bash.out().contains("--gpu-type"), bash.out());
        assertTrue(bash.out().contains("list --names"), "names for show/connect/cancel/edit");
        Run zsh = run("completion", "zsh");
        assertTrue(zsh.out().startsWith("#compdef gpu-dev"), zsh.out());
        assertEquals(2, run("completion", "fish").exit());
        assertFalse(bash.out().contains("aot-training"), "hidden commands stay hidden");
        String listOptions = bash.out().lines().filter(l -> l.trim().startsWith("list) opts=")).findFirst().orElseThrow();
        assertTrue(listOptions.contains("--status") && !listOptions.contains("--names"), "hidden options too: " + listOptions);
    }

    @Test
    void theStartUpTrainingRunsTheEverydayCommandsWithoutTouchingTheUsersHome() throws Exception {
        Run training = run("aot-training");
        assertEquals(0, training.exit(), "every everyday command succeeded against the stand-in: " + training.out());
        assertEquals("", training.out(), "nothing printed");
        try (var files = Files.list(home)) {
            assertEquals(0, files.count(), "the user's HOME untouched");
        }
        assertFalse(run("--help").out().contains("aot-training"), "not in the help");
    }

    /** The start-up budget: the everyday commands (the AOT training's set) load no ObjectMapper and no picocli. */
    @Test
    void theEverydayCommandsLoadNeitherAnObjectMapperNorAReflectiveParser() throws Exception {
        Path log = home.resolve("classes.log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:file=" + log, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "aot-training")
                .redirectErrorStream(true).redirectOutput(home.resolve("out.log").toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(home.resolve("out.log")));
        String loaded = Files.readString(log);
        assertTrue(loaded.contains("dev.gpudev.cli.JobCommands$Show ") && loaded.contains("com.fasterxml.jackson.core.JsonFactory "),
                "the commands ran");
        assertFalse(loaded.contains("com.fasterxml.jackson.databind.ObjectMapper "), "no ObjectMapper");
        assertFalse(loaded.contains("picocli."), "no picocli");
    }

    @Test
    void tablesFitTheTerminalAndColourOnlyWhereItIsWanted() {
        List<List<String>> rows = List.of(List.of("ID", "NAME", "STATUS", "ENDS"),
                List.of("e5223644", "a-rather-long-reservation-name-that-goes-on-and-on", "active", "2026-11-27 14:00:00Z, starts ~ soon, more"));
        StringWriter plain = new StringWriter();
        Output.table(new PrintWriter(plain), rows, Terminal.of(Map.of("NO_COLOR", "1"), true), 2);
        plain.toString().lines().forEach(l -> assertTrue(l.length() <= 80, l.length() + ": " + l));
        assertFalse(plain.toString().contains("\u001b["), "NO_COLOR: no escape codes");
        assertTrue(plain.toString().contains("…"), "a long cell gives way: " + plain);
        StringWriter coloured = new StringWriter();
        Output.table(new PrintWriter(coloured), rows, Terminal.of(Map.of(), true), 2);
        assertTrue(coloured.toString().contains("\u001b[32mactive"), "active in green on a terminal");
        StringWriter piped = new StringWriter();
        Output.table(new PrintWriter(piped), rows, Terminal.of(Map.of(), false), 2);
        assertFalse(piped.toString().contains("\u001b["), "no colour into a pipe");
    }

    @Test
    void theSshConfigNamesEnvironmentsByReservationNameToo() throws Exception {
        JsonNode job = Json.parse("""
                {"job_id":"e5223644-aaaa-bbbb-cccc-0123456789ab","name":"train","connection":{"host":"127.0.0.1","port":40001,
                 "user":"ann","proxy_host":"127.0.0.1","proxy_port":2222,"host_key_alias":"gpudev-e52236440123456789ab"},
                 "nodes":[{"rank":0,"ssh_host":"127.0.0.1","ssh_port":40001,"host_key_alias":"gpudev-e52236440123456789ab"}]}""");
        var settings = new Settings(Map.of("HOME", home.toString()));
        Path file = SshConfig.write(settings, (com.fasterxml.jackson.databind.node.ObjectNode) Json.parse("{}"), List.of(job));
        String cfg = Files.readString(file);
        assertTrue(cfg.contains("Host gpudev-e52236440123456789ab gpudev-train\n"), cfg);
    }

    @Test
    void theProxyKnowsYouByYourNameAndTheEnvironmentMayLetInAUserOfItsOwn() throws Exception {
        JsonNode job = Json.parse("""
                {"job_id":"e5223644-aaaa-bbbb-cccc-0123456789ab","name":"train","connection":{"host":"10.96.0.12","port":22,
                 "user":"dev","proxy_user":"ann","proxy_host":"gpus.example.com","proxy_port":2222,"host_key_alias":"gpudev-e52236440123456789ab"},
                 "nodes":[{"rank":0,"ssh_host":"10.96.0.12","ssh_port":22,"host_key_alias":"gpudev-e52236440123456789ab"}]}""");
        var settings = new Settings(Map.of("HOME", home.toString()));
        String cfg = Files.readString(SshConfig.write(settings, Json.object(), List.of(job)));
        assertTrue(cfg.contains("Host gpudev-proxy-gpus.example.com-2222\n  HostName gpus.example.com\n  Port 2222\n  User ann\n"), cfg);
        assertTrue(cfg.contains("  HostName 10.96.0.12\n  Port 22\n  User dev\n  ProxyJump gpudev-proxy-gpus.example.com-2222\n"), cfg);
    }
}
