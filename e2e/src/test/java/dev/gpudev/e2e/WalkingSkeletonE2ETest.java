package dev.gpudev.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tour of the README against the real jars: the server with simulated GPUs and its embedded
 * PostgreSQL, the CLI, and OpenSSH through the proxy.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WalkingSkeletonE2ETest {
    static Path root;
    static Path dataDir;
    static Path serverLog;
    static Process server;
    static String apiUrl;
    static int proxyPort;
    static Path alice;
    static Path bob;
    static int alicePort;
    static StandInSts sts;

    @BeforeAll
    static void startServer() throws Exception {
        root = Files.createTempDirectory("gpudev-e2e");
        dataDir = root.resolve("data");
        serverLog = root.resolve("server.log");
        int apiPort = Proc.freePort();
        proxyPort = Proc.freePort();
        apiUrl = "http://127.0.0.1:" + apiPort;
        sts = new StandInSts();
        ProcessBuilder pb = new ProcessBuilder(Proc.java(), "-jar", jar("server", "gpudev-server.jar"),
                "--port", Integer.toString(apiPort), "--ssh-port", Integer.toString(proxyPort),
                "--data-dir", dataDir.toString(), "--simulated-gpus", "h100:8x2")
                .redirectErrorStream(true).redirectOutput(serverLog.toFile());
        pb.environment().put("AWS_ENDPOINT_URL_STS", sts.url());
        pb.environment().put("AWS_REGION", "us-east-1");
        server = pb.start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
        while (!Files.readString(serverLog).contains("gpudev is running")) {
            if (!server.isAlive() || Instant.now().isAfter(deadline)) {
                fail("server did not start:\n" + Files.readString(serverLog));
            }
            Thread.sleep(100);
        }
        alice = Proc.newHome(root, "alice");
        bob = Proc.newHome(root, "bob");
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.destroy();
            server.waitFor();
        }
        if (sts != null) {
            sts.close();
        }
    }

    static String jar(String module, String name) {
        Path p = Path.of("..", module, "target", name).toAbsolutePath().normalize();
        assertTrue(Files.exists(p), p + " is missing: run the build (mvn verify) from the repository root");
        return p.toString();
    }

    static Proc cli(Path home, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-jar", jar("cli", "gpudev-cli.jar")));
        cmd.addAll(List.of(args));
        return Proc.run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", apiUrl), cmd);
    }

    @Test
    @Order(1)
    void adminLogsInWithTheBootstrapTokenAndReservesAGpu() throws Exception {
        Path token = dataDir.resolve("admin-token");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(token)));
        Proc login = cli(alice, "login", "--token-file", token.toString());
        assertEquals(0, login.exit(), login.out());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(alice.resolve(".gpu-dev/credentials"))));

        Proc reserve = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.5", "--name", "first", "--wait");
        assertEquals(0, reserve.exit(), reserve.out());
        assertTrue(reserve.out().contains("gpu-dev connect first"), reserve.out());

        Proc show = cli(alice, "show", "first", "-o", "json");
        assertEquals(0, show.exit(), show.out());
        assertTrue(show.out().contains("\"status\" : \"active\""), show.out());
        var m = Pattern.compile("\"port\" : (\\d+)").matcher(show.out());
        assertTrue(m.find(), show.out());
        alicePort = Integer.parseInt(m.group(1));
    }

    @Test
    @Order(2)
    void connectRunsACommandInTheEnvironmentThroughTheProxyWithOpenSsh() throws Exception {
        Proc run = cli(alice, "connect", "first", "--", "echo", "gpus=$CUDA_VISIBLE_DEVICES", "nv=$NVIDIA_VISIBLE_DEVICES", "home=$HOME");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("gpus=0 nv=0"), run.out());
        assertTrue(run.out().contains("/environments/gpudev-"), run.out());
        assertTrue(Files.readString(serverLog).contains("connects to 127.0.0.1:" + alicePort));
        Proc sshConfig = cli(alice, "ssh-config");
        assertEquals(0, sshConfig.exit(), sshConfig.out());
        String alias = Pattern.compile("ssh -F \\S+ (gpudev-\\S+)").matcher(sshConfig.out()).results().findFirst().orElseThrow().group(1);
        Proc plain = Proc.run(Map.of("HOME", alice.toString()), List.of("ssh", "-F", alice.resolve(".gpu-dev/ssh_config").toString(),
                alias, "echo", "plain-ssh-works"));
        assertEquals(0, plain.exit(), plain.out());
        assertTrue(plain.out().contains("plain-ssh-works"));
    }

    @Test
    @Order(3)
    void portForwardingThroughTheEnvironmentWorks() throws Exception {
        // The config `connect` wrote: forward a local port through the environment to the API, as one would to Jupyter.
        Path cfg = alice.resolve(".gpu-dev/ssh_config");
        String host = Files.readAllLines(cfg).stream().filter(l -> l.startsWith("Host gpudev-") && !l.contains("proxy"))
                .findFirst().orElseThrow().substring(5).trim();
        int local = Proc.freePort();
        int api = Integer.parseInt(apiUrl.substring(apiUrl.lastIndexOf(':') + 1));
        Process tunnel = new ProcessBuilder("ssh", "-F", cfg.toString(), "-N", "-o", "ExitOnForwardFailure=yes",
                "-L", local + ":127.0.0.1:" + api, host).redirectErrorStream(true).start();
        try {
            Instant deadline = Instant.now().plus(Duration.ofSeconds(15));
            String body = null;
            while (body == null && Instant.now().isBefore(deadline)) {
                try {
                    body = new String(java.net.URI.create("http://127.0.0.1:" + local + "/health").toURL().openStream().readAllBytes());
                } catch (IOException notYet) {
                    Thread.sleep(200);
                }
            }
            assertTrue(body != null && body.contains("\"database\":\"ok\""), "through the tunnel: " + body);
        } finally {
            tunnel.destroy();
        }
    }

    @Test
    @Order(3)
    void anotherUserIsRefusedByTheProxy() throws Exception {
        Proc invite = cli(alice, "admin", "invite", "bob");
        assertEquals(0, invite.exit(), invite.out());
        String bobToken = invite.out().lines().findFirst().orElseThrow().trim();
        Proc login = cli(bob, "login", "--token", bobToken);
        assertEquals(0, login.exit(), login.out());
        Proc reuse = cli(root.resolve("alice"), "login", "--token", bobToken);
        assertEquals(2, reuse.exit(), "an invite works once: " + reuse.out());

        assertEquals(2, cli(bob, "show", "first").exit(), "bob cannot see alice's reservation");
        Path cfg = bob.resolve("ssh_config");
        Files.writeString(cfg, """
                Host alice-env
                  HostName 127.0.0.1
                  Port %d
                  User bob
                  ProxyJump bob@127.0.0.1:%d
                Host *
                  IdentityFile %s
                  IdentitiesOnly yes
                  BatchMode yes
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  LogLevel ERROR
                """.formatted(alicePort, proxyPort, bob.resolve(".ssh/id_ed25519")));
        Proc ssh = Proc.run(Map.of("HOME", bob.toString()), List.of("ssh", "-F", cfg.toString(), "alice-env", "echo", "inside"));
        assertNotEquals(0, ssh.exit(), ssh.out());
        assertTrue(!ssh.out().contains("inside"), ssh.out());
        assertTrue(Files.readString(serverLog).contains("refused 'bob' a tunnel to 127.0.0.1:" + alicePort), Files.readString(serverLog));
    }

    @Test
    @Order(4)
    void anAddedUserCanConnectThroughTheProxy() throws Exception {
        Proc add = cli(alice, "edit", "first", "--add-user", "bob");
        assertEquals(0, add.exit(), add.out());
        assertTrue(add.out().contains("user bob added"), add.out());
        String id = Pattern.compile("\"job_id\" : \"([0-9a-f-]+)\"").matcher(cli(alice, "show", "first", "-o", "json").out())
                .results().findFirst().orElseThrow().group(1);
        Proc run = cli(bob, "connect", id, "--", "echo", "bob-inside");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("bob-inside"), run.out());
        assertEquals(2, cli(bob, "cancel", id).exit(), "an added user may connect, not cancel");
        assertEquals(2, cli(alice, "edit", "first", "--add-user", "nobody-here").exit());
    }

    @Test
    @Order(5)
    void cancelRemovesTheEnvironment() throws Exception {
        Proc cancel = cli(alice, "cancel", "first");
        assertEquals(0, cancel.exit(), cancel.out());
        assertTrue(cancel.out().contains("cancelled"), cancel.out());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Proc.listening(alicePort)) {
            if (Instant.now().isAfter(deadline)) {
                fail("the environment's SSH endpoint still listens after cancel");
            }
            Thread.sleep(100);
        }
        assertEquals(2, cli(alice, "connect", "first", "--", "true").exit());
    }

    @Test
    @Order(6)
    void aDistributedReservationGetsWholeNodesThatKnowEachOther() throws Exception {
        Proc noFlag = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "16", "--no-wait");
        assertEquals(2, noFlag.exit());
        assertTrue(noFlag.out().contains("--distributed"), noFlag.out());
        assertEquals(2, cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "24", "--distributed", "--no-wait").exit(),
                "more whole nodes than there are");
        Proc r = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "16", "--distributed", "--hours", "1", "--name", "multi", "--wait");
        assertEquals(0, r.exit(), r.out());
        for (int rank = 0; rank < 2; rank++) {
            Proc run = cli(alice, "connect", "multi", "--node", Integer.toString(rank), "--",
                    "echo", "rank=$NODE_RANK", "world=$WORLD_SIZE", "master=$MASTER_ADDR:$MASTER_PORT", "gpus=$CUDA_VISIBLE_DEVICES");
            assertEquals(0, run.exit(), run.out());
            assertTrue(run.out().contains("rank=" + rank + " world=2 master=127.0.0.1:29500 gpus=0,1,2,3,4,5,6,7"), run.out());
        }
        assertEquals(2, cli(alice, "connect", "multi", "--node", "2", "--", "true").exit());
        assertEquals(0, cli(alice, "cancel", "multi").exit());
    }

    @Test
    @Order(7)
    void badInputGetsAClearMessageAndExitCode2() throws Exception {
        Proc tooMany = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "3", "--no-wait");
        assertEquals(2, tooMany.exit());
        assertTrue(tooMany.out().contains("use 1, 2, 4 or 8"), tooMany.out());
        Proc unknown = cli(alice, "reserve", "--gpu-type", "h999", "--no-wait");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.out().contains("unknown gpu_type"), unknown.out());
        Proc tooLong = cli(alice, "reserve", "--gpu-type", "h100", "--hours", "25", "--no-wait");
        assertEquals(2, tooLong.exit());
        assertEquals(2, cli(alice, "reserve", "--gpu-type", "h100", "--hours", "abc").exit());
        assertEquals(2, cli(alice, "frobnicate").exit());
        assertEquals(2, cli(alice, "list", "-o", "yaml").exit());
        assertTrue(!Files.readString(serverLog).contains("Exception"), "no stack trace in the server log");
    }

    @Test
    @Order(8)
    void disksAreCreatedListedUsedListedRenamedAndDeleted() throws Exception {
        assertEquals(0, cli(alice, "disk", "create", "datasets").exit());
        assertEquals(2, cli(alice, "disk", "create", "datasets").exit(), "exists already");
        Proc r = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.1", "--name", "ondisk", "--disk", "datasets", "--wait");
        assertEquals(0, r.exit(), r.out());
        assertEquals(0, cli(alice, "connect", "ondisk", "--", "echo", "kept", ">", "notes.txt").exit());
        assertTrue(cli(alice, "disk", "list").out().contains("datasets"));
        assertEquals(2, cli(alice, "disk", "delete", "datasets").exit(), "not while a reservation uses it");
        assertEquals(0, cli(alice, "cancel", "ondisk").exit());
        Path disks = dataDir.resolve("disks").resolve(System.getProperty("user.name"));
        assertEquals("kept\n", Files.readString(disks.resolve("datasets/notes.txt")));
        Proc content = cli(alice, "disk", "list-content", "datasets");
        assertEquals(0, content.exit(), content.out());
        assertTrue(content.out().contains("notes.txt") && content.out().contains("total: "), content.out());
        Proc renamed = cli(alice, "disk", "rename", "datasets", "archive");
        assertEquals(0, renamed.exit(), renamed.out());
        assertEquals("kept\n", Files.readString(disks.resolve("archive/notes.txt")), "the files moved with the name");
        assertTrue(cli(alice, "disk", "list").out().contains("archive"));
        assertEquals(2, cli(alice, "disk", "rename", "datasets", "again").exit(), "the old name is gone");
        assertEquals(2, cli(alice, "disk", "rename", "archive", "Not_A_Label").exit(), "a disk name is a DNS label");
        assertEquals(0, cli(alice, "disk", "delete", "archive").exit());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Files.exists(disks.resolve("archive"))) {
            assertTrue(Instant.now().isBefore(deadline), "the disk's files are removed");
            Thread.sleep(100);
        }
    }

    @Test
    @Order(9)
    void keysRotateAndNoSecretEverReachesTheLog() throws Exception {
        String before = Files.readString(alice.resolve(".gpu-dev/credentials"));
        Proc rotate = cli(alice, "keys", "rotate", "--revoke-old");
        assertEquals(0, rotate.exit(), rotate.out());
        String after = Files.readString(alice.resolve(".gpu-dev/credentials"));
        assertTrue(!before.equals(after));
        assertEquals(0, cli(alice, "list").exit(), "the new key works");
        // Every secret this run handed out: the bootstrap token, the invite, every API key ever saved.
        List<String> secrets = new ArrayList<>();
        secrets.add(Files.readString(dataDir.resolve("admin-token")).trim());
        for (String creds : List.of(before, after, Files.readString(bob.resolve(".gpu-dev/credentials")))) {
            var m = Pattern.compile("\"api_key\" : \"([^\"]+)\"").matcher(creds);
            while (m.find()) {
                secrets.add(m.group(1));
            }
        }
        String log = Files.readString(serverLog);
        for (String secret : secrets) {
            assertTrue(!log.contains(secret), "a secret is in the server log");
            assertTrue(!log.contains(secret.substring(0, 20)), "part of a secret is in the server log");
        }
        assertTrue(secrets.size() >= 4, secrets.size() + " secrets checked");
    }

    @Test
    @Order(8)
    void submitToActiveIsFast() throws Exception {
        List<Long> millis = new ArrayList<>();
        List<Long> serverMillis = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long start = System.nanoTime();
            Proc r = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.1", "--name", "t" + i, "--wait");
            assertEquals(0, r.exit(), r.out());
            millis.add((System.nanoTime() - start) / 1_000_000);
            var history = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                    .readTree(cli(alice, "show", "t" + i, "-o", "json").out()).get("status_history");
            Instant queued = Instant.parse(history.get(0).get("at").asText());
            Instant active = Instant.parse(history.get(history.size() - 1).get("at").asText());
            serverMillis.add(Duration.between(queued, active).toMillis());
            assertEquals(0, cli(alice, "cancel", "t" + i).exit());
        }
        millis.sort(Long::compare);
        serverMillis.sort(Long::compare);
        System.out.println("submit to active on the server (status history), median of 10: " + serverMillis.get(5) + " ms " + serverMillis);
        // Includes a JVM start of the CLI; the server's own submit→active time is in its status history.
        System.out.println("reserve --wait, submit to active incl. CLI start, median of 10: " + millis.get(5) + " ms " + millis);
        assertTrue(millis.get(5) < 30_000, "median " + millis.get(5));
    }

    @Test
    @Order(10)
    void doctorChecksTheMachineAndRunsAThrowawayEnvironment() throws Exception {
        Proc doctor = Proc.run(Map.of("HOME", root.toString()), List.of(Proc.java(), "-jar", jar("server", "gpudev-server.jar"),
                "doctor", "--simulated-gpus", "h100:1"));
        assertEquals(0, doctor.exit(), doctor.out());
        assertTrue(doctor.out().contains("CUDA_VISIBLE_DEVICES=0"), doctor.out());
        assertTrue(doctor.out().contains("all checks passed"), doctor.out());
        System.out.println("doctor (simulated GPUs):\n" + doctor.out());
    }

    @Test
    @Order(11)
    void awsLoginSignsLocallyAndLogsInAgainWhenTheKeyIsRevoked() throws Exception {
        Path carol = Proc.newHome(root, "carol");
        Map<String, String> env = Map.of("HOME", carol.toString(), "GPU_DEV_API_URL", apiUrl, "AWS_ACCESS_KEY_ID", "AKIDCAROL",
                "AWS_SECRET_ACCESS_KEY", "not-sent-anywhere", "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL_STS", sts.url());
        List<String> cli = List.of(Proc.java(), "-jar", jar("cli", "gpudev-cli.jar"));
        Proc login = Proc.run(env, concat(cli, "login"));
        assertEquals(0, login.exit(), login.out());
        assertTrue(login.out().contains("as carol_example.com (AWS arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/"),
                login.out());
        assertTrue(!Files.readString(serverLog).contains("not-sent-anywhere"));
        // An admin revokes carol's key; her next command logs in again by itself and goes through.
        String keys = cli(alice, "list").out(); // alice is admin: use the API directly for the revoke
        var adminKey = Pattern.compile("\"api_key\" : \"([^\"]+)\"").matcher(Files.readString(alice.resolve(".gpu-dev/credentials")));
        assertTrue(adminKey.find(), keys);
        var carolKey = Pattern.compile("\"api_key\" : \"([^\"]+)\"").matcher(Files.readString(carol.resolve(".gpu-dev/credentials")));
        assertTrue(carolKey.find());
        var http = java.net.http.HttpClient.newHttpClient();
        var listed = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(apiUrl + "/v1/keys"))
                .header("Authorization", "Bearer " + carolKey.group(1)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        var id = Pattern.compile("\"key_id\":(\\d+)").matcher(listed);
        assertTrue(id.find(), listed);
        var revoke = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(apiUrl + "/v1/keys/" + id.group(1)))
                .header("Authorization", "Bearer " + adminKey.group(1)).DELETE().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(204, revoke.statusCode(), revoke.body());
        Proc list = Proc.run(env, concat(cli, "list"));
        assertEquals(0, list.exit(), list.out());
        assertTrue(!Files.readString(carol.resolve(".gpu-dev/credentials")).contains(carolKey.group(1)), "a new key was saved");
    }

    static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

}
