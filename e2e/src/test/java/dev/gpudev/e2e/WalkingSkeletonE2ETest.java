package dev.gpudev.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tour of the README against the real jars: the server with simulated GPUs and its embedded
 * PostgreSQL, the CLI, and OpenSSH through the proxy. One server for the class; every test makes the
 * users and reservations it needs and starts on a cluster with nothing running, so none depends on
 * another or on their order.
 */
class WalkingSkeletonE2ETest {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final AtomicInteger USERS = new AtomicInteger();
    static Path root;
    static Path dataDir;
    static Path serverLog;
    static Process server;
    static String apiUrl;
    static int proxyPort;
    static Path admin;
    static StandInSts sts;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startServer() throws Exception {
        root = Files.createTempDirectory("gpudev-e2e");
        dataDir = root.resolve("data");
        serverLog = root.resolve("server.log");
        int apiPort = Proc.freePort();
        proxyPort = Proc.freePort();
        apiUrl = "http://127.0.0.1:" + apiPort;
        sts = new StandInSts();
        ProcessBuilder pb = new ProcessBuilder(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar"),
                "--port", Integer.toString(apiPort), "--ssh-port", Integer.toString(proxyPort),
                "--data-dir", dataDir.toString(), "--simulated-gpus", "h100:8x2", "--notify-allow-hosts", "127.0.0.1",
                "--insecure-registries", "127.0.0.1")
                .redirectErrorStream(true).redirectOutput(serverLog.toFile());
        pb.environment().put("AWS_ENDPOINT_URL_STS", sts.url());
        pb.environment().put("AWS_REGION", "us-east-1");
        pb.environment().put("ALLOWED_AWS_ACCOUNTS", "123456789012");
        server = pb.start();
        Proc.awaitRunning(server, serverLog, "server");
        admin = Proc.newHome(root, "admin");
        Path token = dataDir.resolve("admin-token");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(token)));
        Proc login = cli(admin, "login", "--token-file", token.toString());
        assertEquals(0, login.exit(), login.out());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(admin.resolve(".gpu-dev/credentials"))));
    }

    @AfterAll
    static void stopServer() throws Exception {
        Proc.stopServer(server, dataDir);
        if (sts != null) {
            sts.close();
        }
    }

    /** Every test starts on a cluster where nothing runs or waits: what an earlier test left is cancelled. */
    @BeforeEach
    void nothingRuns() throws Exception {
        JsonNode live = api("GET", "/v1/jobs?all_users=true&status=queued,preparing,active&limit=500", key(admin), null).get("jobs");
        for (JsonNode j : live) {
            api("POST", "/v1/jobs/" + j.get("job_id").asText() + "/cancel", key(admin), null);
        }
        Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
        while (api("GET", "/v1/jobs?all_users=true&status=queued,preparing,active", key(admin), null).get("jobs").size() > 0) {
            assertTrue(Instant.now().isBefore(deadline), "the cluster did not empty");
            Thread.sleep(100);
        }
    }

    static Proc cli(Path home, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-jar", Proc.jar("cli", "gpudev-cli.jar")));
        cmd.addAll(List.of(args));
        return Proc.run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", apiUrl), cmd);
    }

    /** A new user, invited by the admin, logged in with their own home and SSH key. */
    static Path newUser(String prefix) throws Exception {
        String name = prefix + USERS.incrementAndGet();
        Path home = Proc.newHome(root, name);
        Proc invite = cli(admin, "admin", "invite", name);
        assertEquals(0, invite.exit(), invite.out());
        Proc login = cli(home, "login", "--token", invite.out().lines().findFirst().orElseThrow().trim());
        assertEquals(0, login.exit(), login.out());
        return home;
    }

    static String username(Path home) {
        return home.getFileName().toString();
    }

    static String key(Path home) throws IOException {
        var m = Pattern.compile("\"api_key\" : \"([^\"]+)\"").matcher(Files.readString(home.resolve(".gpu-dev/credentials")));
        assertTrue(m.find());
        return m.group(1);
    }

    static JsonNode api(String method, String path, String key, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(apiUrl + path)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        var r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() < 300, method + " " + path + ": " + r.statusCode() + " " + r.body());
        return r.body().isBlank() ? null : JSON.readTree(r.body());
    }

    /** A reservation of one GPU, active; returns its JSON. */
    static JsonNode active(Path home, String name, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.5", "--name", name, "--wait"));
        args.addAll(List.of(more));
        Proc reserve = cli(home, args.toArray(String[]::new));
        assertEquals(0, reserve.exit(), reserve.out());
        assertTrue(reserve.out().contains("gpu-dev connect " + name), reserve.out());
        return show(home, name);
    }

    static JsonNode show(Path home, String ref) throws Exception {
        Proc show = cli(home, "show", ref, "-o", "json");
        assertEquals(0, show.exit(), show.out());
        return JSON.readTree(show.out());
    }

    @Test
    void theTourReserveConnectSshConfigAndCancel() throws Exception {
        Path alice = newUser("alice");
        JsonNode job = active(alice, "first");
        assertEquals("active", job.get("status").asText());
        int port = job.get("connection").get("port").asInt();
        Proc run = cli(alice, "connect", "first", "--", "echo", "gpus=$CUDA_VISIBLE_DEVICES", "nv=$NVIDIA_VISIBLE_DEVICES", "home=$HOME");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("gpus=0 nv=0"), run.out());
        assertTrue(run.out().contains("home=/home/" + username(alice)), "the home, as the box shows it: " + run.out());
        assertTrue(Files.readString(serverLog).contains("connects to 127.0.0.1:" + port));
        Proc sshConfig = cli(alice, "ssh-config");
        assertEquals(0, sshConfig.exit(), sshConfig.out());
        String alias = Pattern.compile("ssh -F \\S+ (gpudev-\\S+)").matcher(sshConfig.out()).results().findFirst().orElseThrow().group(1);
        // a client's environment request never reaches the programs that run as root before the box drops privileges
        Proc plain = Proc.run(Map.of("HOME", alice.toString()), List.of("ssh", "-F", alice.resolve(".gpu-dev/ssh_config").toString(),
                "-o", "SetEnv=LD_PRELOAD=/gpudev-no-such.so GPUDEV_PROBE=sent", alias, "echo", "plain-ssh-works:$GPUDEV_PROBE"));
        assertEquals(0, plain.exit(), plain.out());
        assertTrue(plain.out().contains("plain-ssh-works:"), plain.out());
        assertFalse(plain.out().contains("cannot be preloaded") || plain.out().contains("gpudev-no-such") || plain.out().contains(":sent"),
                "the client's variables reach nothing: " + plain.out());
        String prefix = job.get("job_id").asText().substring(0, 8);
        assertEquals(job.get("job_id"), show(alice, prefix).get("job_id"), "the 8 characters `list` prints are enough");

        Proc cancel = cli(alice, "cancel", prefix);
        assertEquals(0, cancel.exit(), cancel.out());
        assertTrue(cancel.out().contains("cancelled"), cancel.out());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Proc.listening(port)) {
            if (Instant.now().isAfter(deadline)) {
                fail("the environment's SSH endpoint still listens after cancel");
            }
            Thread.sleep(100);
        }
        assertEquals(2, cli(alice, "connect", "first", "--", "true").exit());

        // What she used is counted: her usage, and the fair share it gives her in the queue.
        Proc usage = cli(alice, "usage", "--since", "1d");
        assertEquals(0, usage.exit(), usage.out());
        assertTrue(usage.out().contains(username(alice) + ": ") && usage.out().contains("Fair share: factor"), usage.out());
        Proc json = cli(alice, "usage", "-o", "json");
        assertEquals(0, json.exit(), json.out());
        assertTrue(JSON.readTree(json.out()).get("gpu_hours_by_type").has("h100"), "her seconds on an h100 are counted: " + json.out());
        Proc others = cli(alice, "usage", "--user", "root");
        assertEquals(2, others.exit(), "only admins see another's usage: " + others.out());
        Proc share = cli(admin, "admin", "share", username(alice), "2");
        assertEquals(0, share.exit(), share.out());
        assertTrue(share.out().contains("fair share is 2"), share.out());
        assertEquals(2, cli(admin, "admin", "share", username(alice), "lots").exit());
    }

    @Test
    void adminsMakeTeamsAndAReservationIsChargedToTheMembersTeam() throws Exception {
        Path dana = newUser("dana");
        Path eve = newUser("eve");
        String team = "crew" + USERS.incrementAndGet();
        Proc create = cli(admin, "admin", "team", "create", team, "--share", "2");
        assertEquals(0, create.exit(), create.out());
        assertTrue(create.out().contains(team + ": share 2"), create.out());
        assertEquals(0, cli(admin, "admin", "team", "guarantee", team, "H100", "1").exit());
        Proc add = cli(admin, "admin", "team", "add", team, username(dana), "--default");
        assertEquals(0, add.exit(), add.out());
        assertTrue(add.out().contains("guaranteed 1 h100") && add.out().contains(username(dana) + " (default)"), add.out());
        assertEquals(2, cli(admin, "admin", "team", "guarantee", team, "h100", "many").exit(), "a clear CLI error");
        assertEquals(2, cli(admin, "admin", "team", "create", team).exit(), "one team of a name");
        assertEquals(2, cli(dana, "admin", "team", "create", "mine").exit(), "admins only");

        Proc teams = cli(dana, "teams");
        assertEquals(0, teams.exit(), teams.out());
        assertTrue(teams.out().contains(team + ": share 2"), teams.out());
        assertTrue(cli(eve, "teams").out().contains("You are in no team"));

        JsonNode job = active(dana, "teamwork");
        assertEquals(team, job.get("team").asText(), "her default team");
        assertTrue(cli(dana, "show", "teamwork").out().contains("team:      " + team));
        Proc notMine = cli(eve, "reserve", "--gpu-type", "h100", "--team", team, "--no-wait");
        assertEquals(2, notMine.exit(), notMine.out());
        assertTrue(notMine.out().contains("not a member of team '" + team + "'"), notMine.out());
        Proc usage = cli(dana, "usage", "--team", team);
        assertEquals(0, usage.exit(), usage.out());
        assertTrue(usage.out().contains("team " + team + ": ") && usage.out().contains("Guaranteed: 1 h100"), usage.out());
        assertEquals(2, cli(eve, "usage", "--team", team).exit(), "not her team");
        assertEquals(0, cli(dana, "cancel", "teamwork").exit());
        assertEquals(0, cli(admin, "admin", "team", "remove", team, username(dana)).exit());
        assertEquals(0, cli(admin, "admin", "team", "delete", team).exit());
        assertTrue(cli(dana, "teams").out().contains("You are in no team"));
    }

    @Test
    void reserveWithoutWaitingSaysWhereTheReservationStands() throws Exception {
        Path gus = newUser("gus");
        List<String> said = new ArrayList<>();
        for (String name : List.of("one", "two", "three")) { // 24 GPUs asked of 16: at least one waits
            Proc r = cli(gus, "reserve", "--gpu-type", "h100", "--gpus", "8", "--hours", "1", "--name", name, "--no-wait");
            assertEquals(0, r.exit(), r.out());
            said.add(r.out());
        }
        assertTrue(said.stream().anyMatch(o -> o.contains("queued, position ") && o.contains("expected to start ~")), said.toString());
        assertTrue(said.stream().noneMatch(o -> o.contains("(queued)")), "never a bare status: " + said);
        Proc json = cli(gus, "reserve", "--gpu-type", "h100", "--gpus", "8", "--hours", "1", "--name", "four", "--no-wait", "-o", "json");
        assertEquals(0, json.exit(), json.out());
        JsonNode four = JSON.readTree(json.out());
        assertEquals("queued", four.get("status").asText());
        assertTrue(four.hasNonNull("queue_position") && four.hasNonNull("estimated_start_at") && four.hasNonNull("pending_reason"), json.out());
        Proc shorter = cli(gus, "edit", "four", "--hours", "0.5");
        assertEquals(0, shorter.exit(), shorter.out());
        assertTrue(shorter.out().startsWith("Now 0.5 h: queued, position "), shorter.out());
        assertTrue(shorter.out().contains("it keeps its place in line"), shorter.out());
        assertEquals(2, cli(gus, "edit", "four", "--hours", "30").exit(), "out of range, said as at submit");
        for (String name : List.of("one", "two", "three", "four")) {
            cli(gus, "cancel", name);
        }
    }

    @Test
    void aWebhookHearsWhenAReservationStartsAndEnds() throws Exception {
        java.util.concurrent.BlockingQueue<String> heard = new java.util.concurrent.LinkedBlockingQueue<>();
        var receiver = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", ex -> {
            heard.add(new String(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        receiver.start();
        try {
            Path ivy = newUser("ivy");
            String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook/s3cr3t-token";
            Proc add = cli(ivy, "notify", "add", url, "--format", "slack");
            assertEquals(0, add.exit(), add.out());
            Proc list = cli(ivy, "notify", "list");
            assertTrue(list.out().contains("slack") && !list.out().contains("s3cr3t"), "masked: " + list.out());
            assertEquals(2, cli(ivy, "notify", "add", "http://10.0.0.1/x").exit(), "never an internal address not allowed by name");
            Proc reserve = cli(ivy, "reserve", "--gpu-type", "h100", "--hours", "2", "--name", "heard", "--wait");
            assertEquals(0, reserve.exit(), reserve.out());
            String started = heard.poll(20, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(started != null && started.contains("heard (1 × h100) is active until"), String.valueOf(started));
            assertEquals(0, cli(ivy, "cancel", "heard").exit());
            String ended = heard.poll(20, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(ended != null && ended.contains("ended: cancelled"), String.valueOf(ended));
            assertEquals(null, heard.poll(2, java.util.concurrent.TimeUnit.SECONDS), "each once");
            assertFalse(Files.readString(serverLog).contains("s3cr3t"), "the URL is never logged");
        } finally {
            receiver.stop(0);
        }
    }

    @Test
    void anEnvironmentOnAnImageFromARegistryIsReachedOverSshThroughTheProxyAsItsOwner() throws Exception {
        String missing = dev.gpudev.backend.local.TestRegistry.missing();
        org.junit.jupiter.api.Assumptions.assumeTrue(missing == null, missing);
        try (var registry = dev.gpudev.backend.local.TestRegistry.start(root.resolve("registry"))) {
            String image = registry.pushBusybox(root.resolve("images"), "team/tools:1", Map.of("etc/from-the-image", "built into the image\n"),
                    Map.of("HELLO", "from the image", "PATH", "/bin"));
            Path ivy = newUser("ivy");
            long t0 = System.nanoTime();
            JsonNode env = active(ivy, "onimage", "--image", image);
            long toReady = (System.nanoTime() - t0) / 1_000_000;
            Proc in = cli(ivy, "connect", "onimage", "--", "cat /etc/from-the-image; echo \"[$HELLO]\"; echo \"[$CUDA_VISIBLE_DEVICES]\";"
                    + " test -e /usr/bin/apt && echo host || echo image; id -u");
            assertEquals(0, in.exit(), in.out());
            List<String> lines = in.out().lines().toList();
            assertEquals(List.of("built into the image", "[from the image]", "image"), List.of(lines.get(0), lines.get(1), lines.get(3)), in.out());
            assertTrue(lines.get(2).matches("\\[\\d+\\]"), "its GPU: " + in.out());
            assertTrue(lines.get(4).matches("\\d+") && !lines.get(4).equals("0"), "as its owner, not root: " + in.out());
            Proc show = cli(ivy, "show", "onimage");
            assertTrue(show.out().contains("image " + image + " (sha256:"), show.out());
            assertEquals(image, env.path("image").asText(), env.toString());
            System.out.println("submit to ready on a new image: " + toReady + " ms");
            assertEquals(0, cli(ivy, "cancel", "onimage").exit());
        }
    }

    @Test
    void aDockerfileIsBuiltOnceAsItsOwnerAndASecondReservationStartsWithoutABuild() throws Exception {
        String missing = dev.gpudev.backend.local.TestRegistry.missing();
        org.junit.jupiter.api.Assumptions.assumeTrue(missing == null, missing);
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/buildah")), "buildah is not installed");
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "builds need a root server");
        try (var registry = dev.gpudev.backend.local.TestRegistry.start(root.resolve("registry-b"))) {
            String base = registry.pushBusybox(root.resolve("images-b"), "team/base:1", Map.of(), Map.of("PATH", "/bin"));
            Path ctx = Files.createDirectories(root.resolve("build-ctx"));
            Files.writeString(ctx.resolve("note.txt"), "copied from the context\n");
            Files.writeString(ctx.resolve("secret.key"), "never sent\n");
            Files.writeString(ctx.resolve(".dockerignore"), "*.key\n");
            Path dockerfile = root.resolve("Dockerfile");
            Files.writeString(dockerfile, "FROM " + base + "\nCOPY . /etc/ctx/\nRUN echo ran > /etc/ran\nENV STAGE=built\n");
            Path jo = newUser("jo");
            long t0 = System.nanoTime();
            active(jo, "built1", "--dockerfile", dockerfile.toString(), "--build-context", ctx.toString());
            long firstMs = (System.nanoTime() - t0) / 1_000_000;
            Proc in = cli(jo, "connect", "built1", "--", "cat /etc/ctx/note.txt /etc/ran; echo \"[$STAGE]\"; ls /etc/ctx");
            assertEquals(0, in.exit(), in.out());
            assertTrue(in.out().contains("copied from the context\nran\n[built]"), in.out());
            assertFalse(in.out().contains("secret.key"), ".dockerignore honoured: " + in.out());
            Proc log = cli(jo, "logs", "built1", "--build");
            assertEquals(0, log.exit(), log.out());
            assertTrue(log.out().contains("STEP 3/4: RUN echo ran") && log.out().contains(": built: "), log.out());
            assertEquals(0, cli(jo, "cancel", "built1").exit());
            long t1 = System.nanoTime();
            active(jo, "built2", "--dockerfile", dockerfile.toString(), "--build-context", ctx.toString());
            long secondMs = (System.nanoTime() - t1) / 1_000_000;
            assertEquals(1, Files.readString(serverLog).lines().filter(l -> l.contains("LocalBuilds - built ")).count(),
                    "the same Dockerfile and context are built once");
            assertEquals(0, cli(jo, "cancel", "built2").exit());
            System.out.println("submit to ready: with a small build " + firstMs + " ms, the same again (cached) " + secondMs + " ms");

            Path broken = root.resolve("Dockerfile.broken");
            Files.writeString(broken, "FROM " + base + "\nRUN echo about to fail && false\n");
            Proc failed = cli(jo, "reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.5", "--name", "broken", "--wait",
                    "--dockerfile", broken.toString());
            assertEquals(1, failed.exit(), failed.out());
            assertTrue(failed.out().contains("the build failed at STEP 2/2: RUN echo about to fail && false"), failed.out());
            Proc brokenLog = cli(jo, "logs", "broken", "--build");
            assertEquals(1, brokenLog.exit(), brokenLog.out());
            assertTrue(brokenLog.out().contains("about to fail"), brokenLog.out());
        }
    }

    @Test
    void aReservationsOwnVariablesAreInItsSessionsAndShownToItsOwnerOnly() throws Exception {
        Path kit = newUser("kit");
        Path file = kit.resolve("run.env");
        Files.writeString(file, "# for the run\nexport FROM_FILE=yes\nMODE=slow\n");
        active(kit, "envy", "--env", "GREETING=hello world", "--env-file", file.toString(), "--env", "MODE=fast");
        Proc run = cli(kit, "connect", "envy", "--", "echo", "\"[$GREETING/$FROM_FILE/$MODE/$CUDA_VISIBLE_DEVICES]\"");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("[hello world/yes/fast/"), "--env wins over the file: " + run.out());
        Proc show = cli(kit, "show", "envy");
        assertTrue(show.out().contains("env:") && show.out().contains("GREETING") && show.out().contains("FROM_FILE"), show.out());
        assertFalse(show.out().contains("hello world"), "names only in show's text: " + show.out());
        Proc refused = cli(kit, "reserve", "--gpu-type", "h100", "--env", "CUDA_VISIBLE_DEVICES=7", "--no-wait");
        assertEquals(2, refused.exit(), refused.out());
        assertTrue(refused.out().contains("CUDA_VISIBLE_DEVICES is set by the platform"), refused.out());
        assertEquals(0, cli(kit, "cancel", "envy").exit());
        assertFalse(Files.readString(serverLog).contains("hello world"), "never logged");
    }

    @Test
    void aBatchRunCopiesItsFolderFollowsItsOutputAndEndsWithItsExitCode() throws Exception {
        Path lee = newUser("lee");
        Path proj = lee.resolve("proj");
        Files.createDirectories(proj.resolve("data"));
        Files.createDirectories(proj.resolve("cache"));
        Files.writeString(proj.resolve("train.sh"), "echo \"epoch 1 on [$CUDA_VISIBLE_DEVICES] mode=$MODE in $(basename \"$PWD\")\"\n"
                + "cat data/input.txt\nls -A | tr '\\n' ' '; echo\nexit 3\n");
        Files.writeString(proj.resolve("data/input.txt"), "the input\n");
        Files.writeString(proj.resolve(".gitignore"), "*.ckpt\ncache/\n");
        Files.writeString(proj.resolve("big.ckpt"), "weights");
        Files.writeString(proj.resolve("cache/blob"), "cached");
        Proc run = cli(lee, "run", "--gpu-type", "h100", "--hours", "0.5", "--name", "train", "--env", "MODE=fast",
                "--workdir", proj.toString(), "--", "bash", "train.sh");
        assertEquals(3, run.exit(), "gpu-dev run exits with the command's code: " + run.out());
        assertTrue(run.out().contains("Copied 3 of 3 files"), run.out());
        assertTrue(run.out().contains("epoch 1 on [0] mode=fast in proj"), "its output, followed, in ~/proj: " + run.out());
        assertTrue(run.out().contains("the input"), run.out());
        assertTrue(run.out().contains(".gitignore data train.sh") && !run.out().contains("big.ckpt") && !run.out().contains("cache"),
                ".gitignore honoured: " + run.out());
        assertTrue(run.out().contains("train: failed (exit 3)"), run.out());
        JsonNode j = show(lee, "train");
        assertEquals("failed", j.get("status").asText());
        assertEquals(3, j.get("exit_code").asInt());
        assertEquals("failed (exit 3)", j.get("run").get("state").asText());
        assertEquals(List.of("bash", "train.sh"), JSON.convertValue(j.get("run").get("command"), List.class));
        // the environment is gone: the end of the output the platform kept
        Proc logs = cli(lee, "logs", "train");
        assertEquals(0, logs.exit(), logs.out());
        assertTrue(logs.out().contains("epoch 1 on [0] mode=fast") && logs.out().contains("the input"), logs.out());
        Proc list = cli(lee, "list");
        assertTrue(list.out().contains("failed (exit 3)"), list.out());
        // nobody else reads it
        Path other = newUser("nosy");
        Proc nosy = cli(other, "logs", j.get("job_id").asText());
        assertEquals(2, nosy.exit(), nosy.out());
        assertTrue(nosy.out().contains("you have no reservation") && !nosy.out().contains("epoch"), nosy.out());

        // Again, detached and kept, on a disk home: only what changed is copied, the output read while it runs.
        Files.writeString(proj.resolve("train.sh"), "echo second run; cat data/input.txt\n");
        Proc again = cli(lee, "run", "--gpu-type", "h100", "--hours", "0.5", "--name", "train2", "--disk", "work", "--keep", "--detach",
                "--workdir", proj.toString(), "--", "bash", "train.sh");
        assertEquals(0, again.exit(), again.out());
        assertTrue(again.out().contains("follow it with: gpu-dev logs train2 -f"), again.out());
        Proc follow = cli(lee, "logs", "train2", "-f");
        assertEquals(0, follow.exit(), follow.out());
        assertTrue(follow.out().contains("second run") && follow.out().contains("the input"), follow.out());
        assertTrue(follow.out().contains("train2: exited 0"), follow.out());
        JsonNode kept = show(lee, "train2");
        assertEquals("active", kept.get("status").asText(), "--keep: it stays after its command");
        assertEquals(0, kept.get("exit_code").asInt());
        assertEquals(0, cli(lee, "cancel", "train2").exit());
        Proc third = cli(lee, "run", "--gpu-type", "h100", "--hours", "0.5", "--name", "train3", "--disk", "work",
                "--workdir", proj.toString(), "--", "true");
        assertEquals(0, third.exit(), third.out());
        assertTrue(third.out().contains("Copied 0 of 3 files"), "nothing changed on that disk: " + third.out());
    }

    @Test
    void aBatchRunWithoutAFolderReturnsAtOnceAndItsCommandSurvivesTheCli() throws Exception {
        Path max = newUser("max");
        Proc run = cli(max, "run", "--gpu-type", "h100", "--hours", "0.5", "--name", "quick", "--detach", "--",
                "sh", "-c", "echo started; sleep 1; echo 'done with it'");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("Submitted batch run quick"), run.out());
        Proc follow = cli(max, "logs", "quick", "-f");
        assertEquals(0, follow.exit(), follow.out());
        assertTrue(follow.out().contains("started") && follow.out().contains("done with it"), follow.out());
        assertTrue(follow.out().contains("quick: exited 0"), follow.out());
        JsonNode j = show(max, "quick");
        assertEquals("expired", j.get("status").asText(), "it ended with its command");
        assertEquals(0, j.get("exit_code").asInt());
        Proc show = cli(max, "show", "quick");
        assertTrue(show.out().contains("run:       sh -c 'echo started; sleep 1; echo '\\''done with it'\\''' — exited 0"), show.out());
        Proc notRun = cli(max, "logs", "nosuch");
        assertEquals(2, notRun.exit(), notRun.out());
        Proc none = cli(max, "run", "--gpu-type", "h100");
        assertEquals(2, none.exit(), none.out());
        assertTrue(none.out().contains("run needs a command"), none.out());
    }

    @Test
    void aDistributedBatchRunCopiesItsFolderToEveryNodeAndRunsOnEach() throws Exception {
        Path nia = newUser("nia");
        Path proj = nia.resolve("dist");
        Files.createDirectories(proj);
        Files.writeString(proj.resolve("hello.txt"), "from the laptop\n");
        Proc run = cli(nia, "run", "--gpu-type", "h100", "--gpus", "16", "--distributed", "--hours", "0.5", "--name", "wide",
                "--workdir", proj.toString(), "--", "sh", "-c", "echo rank=$NODE_RANK world=$WORLD_SIZE $(cat hello.txt)");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("Copied 1 of 1 files") && run.out().contains("to ~/dist on node 1"), "each node has its own home: " + run.out());
        assertTrue(run.out().contains("rank=0 world=2 from the laptop"), "node 0's output: " + run.out());
        assertTrue(run.out().contains("wide: exited 0"), run.out());
    }

    @Test
    void tunnelsReachTheEnvironmentsOwnPortsAndNeverTheHostsServices() throws Exception {
        Path alice = newUser("alice");
        active(alice, "fwd");
        // A service in the environment (as Jupyter or TensorBoard would be), started over SSH and left running.
        Proc serve = cli(alice, "connect", "fwd", "--", "nohup python3 -m http.server 8765 --bind 0.0.0.0 > web.log 2>&1 &"
                + " sleep 1; echo started");
        assertTrue(serve.out().contains("started"), serve.out());
        assertEquals(0, cli(alice, "ssh-config").exit());
        Path cfg = alice.resolve(".gpu-dev/ssh_config");
        // The environment by its reservation's name, as ssh-config writes it (gpudev-NAME).
        String host = "gpudev-fwd";
        assertTrue(Files.readString(cfg).contains(" " + host + "\n"), Files.readString(cfg));
        int local = Proc.freePort();
        Process tunnel = new ProcessBuilder("ssh", "-F", cfg.toString(), "-N", "-o", "ExitOnForwardFailure=yes",
                "-L", local + ":127.0.0.1:8765", host).redirectErrorStream(true).start();
        try {
            String body = fetch("http://127.0.0.1:" + local + "/", Duration.ofSeconds(15));
            assertTrue(body != null && body.contains("web.log"), "through the tunnel, the environment's own port (its home's listing): " + body);
        } finally {
            tunnel.destroy();
        }
        // The same tunnel to the API's port (a host service) is refused: a tenant's tunnels never leave its environment.
        int api = Integer.parseInt(apiUrl.substring(apiUrl.lastIndexOf(':') + 1));
        int local2 = Proc.freePort();
        Process sneaky = new ProcessBuilder("ssh", "-F", cfg.toString(), "-N", "-L", local2 + ":127.0.0.1:" + api, host)
                .redirectErrorStream(true).start();
        try {
            String body = fetch("http://127.0.0.1:" + local2 + "/health", Duration.ofSeconds(3));
            assertFalse(body != null && body.contains("database"), "the API is out of the tunnel's reach: " + body);
        } finally {
            sneaky.destroy();
        }
        Proc remote = Proc.run(Map.of("HOME", alice.toString()), List.of("ssh", "-F", cfg.toString(), "-N", "-o", "ExitOnForwardFailure=yes",
                "-R", "127.0.0.1:" + Proc.freePort() + ":127.0.0.1:22", host));
        assertNotEquals(0, remote.exit(), "no remote forwarding: " + remote.out());
    }

    static String fetch(String url, Duration within) throws InterruptedException {
        Instant deadline = Instant.now().plus(within);
        while (Instant.now().isBefore(deadline)) {
            try {
                var c = (java.net.HttpURLConnection) URI.create(url).toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(2000);
                return new String(c.getInputStream().readAllBytes());
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        return null;
    }

    @Test
    void aHostileTenantFindsNoWayOutOfItsEnvironment() throws Exception {
        Path alice = newUser("alice");
        Path mallory = newUser("mallory");
        active(alice, "victim");
        assertEquals(0, cli(alice, "connect", "victim", "--", "echo alices-secret > secret.txt").exit());
        String aliceHome = dataDir.resolve("environments").toString();
        active(mallory, "attack");
        String socket = dataDir.resolve("pg-run/.s.PGSQL.5432").toString();
        String script = String.join("; ",
                "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
                "cat " + dataDir.resolve("admin-token") + " 2>&1 | head -c 120; echo",
                "cat " + dataDir.resolve("pgdata/PG_VERSION") + " 2>&1 | head -c 120; echo",
                "cat " + dataDir.resolve("pg-secrets/app") + " 2>&1 | head -c 120; echo",
                "cat " + dataDir.resolve("ssh_proxy_host_key") + " 2>&1 | head -c 120; echo",
                "cat $(find " + aliceHome + " /home -name secret.txt 2>/dev/null) 2>&1 | head -c 120; echo",
                "python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('" + socket + "'); print('DB-SOCKET-REACHED')\" 2>&1 | tail -1",
                "(exec 3<>/dev/tcp/127.0.0.1/" + apiUrl.substring(apiUrl.lastIndexOf(':') + 1) + " && echo API-PORT-REACHED) 2>&1 | tail -1",
                "umount -l /tmp 2>&1; echo umount-rc=$?",
                "kill -9 " + server.pid() + " 2>&1; echo kill-rc=$?",
                "nohup sleep 4242 > /dev/null 2>&1 & echo done");
        Proc attack = cli(mallory, "connect", "attack", "--", script);
        String out = attack.out();
        assertTrue(out.contains("done"), out);
        assertTrue(out.contains("CapEff:\t0000000000000000") && out.contains("NoNewPrivs:\t1"), "no capabilities: " + out);
        for (String secret : List.of(Files.readString(dataDir.resolve("admin-token")).trim(), "alices-secret",
                Files.readString(dataDir.resolve("pg-secrets/app")).trim(), "BEGIN", "DB-SOCKET-REACHED", "API-PORT-REACHED", "kill-rc=0", "umount-rc=0")) {
            assertFalse(out.contains(secret.length() > 20 ? secret.substring(0, 20) : secret), "reached: " + secret + "\n" + out);
        }
        assertFalse(out.lines().anyMatch(l -> l.trim().equals("17")), "pgdata is out of reach: " + out);
        assertTrue(server.isAlive(), "the server lives");
        assertTrue(sleepers() >= 1, "the background job outlived the SSH session");
        Path cfg = mallory.resolve(".gpu-dev/ssh_config");
        assertEquals(0, cli(mallory, "ssh-config").exit());
        String host = "gpudev-attack";
        Proc plain = Proc.run(Map.of("HOME", mallory.toString()), List.of("ssh", "-F", cfg.toString(), host, "true"));
        assertEquals(0, plain.exit(), "the host itself is reachable, so a refusal below is the forwarding's: " + plain.out());
        Proc remote = Proc.run(Map.of("HOME", mallory.toString()), List.of("ssh", "-F", cfg.toString(), "-N", "-o", "ExitOnForwardFailure=yes",
                "-R", "127.0.0.1:" + Proc.freePort() + ":127.0.0.1:22", host));
        assertNotEquals(0, remote.exit(), "no listening port on the host: " + remote.out());
        assertEquals(0, cli(mallory, "cancel", "attack").exit());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (sleepers() > 0 && Instant.now().isBefore(deadline)) {
            Thread.sleep(100);
        }
        assertEquals(0, sleepers(), "everything of the environment ends with it");
    }

    static long sleepers() {
        return ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("").endsWith("sleep 4242")).count();
    }

    @Test
    void anotherUserIsRefusedByTheProxyAndInvitesWorkOnce() throws Exception {
        Path alice = newUser("alice");
        int port = active(alice, "mine").get("connection").get("port").asInt();
        Path bob = Proc.newHome(root, "bob" + USERS.incrementAndGet());
        Proc invite = cli(admin, "admin", "invite", username(bob));
        assertEquals(0, invite.exit(), invite.out());
        String bobToken = invite.out().lines().findFirst().orElseThrow().trim();
        Proc login = cli(bob, "login", "--token", bobToken);
        assertEquals(0, login.exit(), login.out());
        Proc reuse = cli(Proc.newHome(root, "thief" + USERS.incrementAndGet()), "login", "--token", bobToken);
        assertEquals(2, reuse.exit(), "an invite works once: " + reuse.out());

        assertEquals(2, cli(bob, "show", "mine").exit(), "bob cannot see alice's reservation");
        Path cfg = bob.resolve("ssh_config");
        Files.writeString(cfg, """
                Host alice-env
                  HostName 127.0.0.1
                  Port %d
                  User %s
                  ProxyJump %s@127.0.0.1:%d
                Host *
                  IdentityFile %s
                  IdentitiesOnly yes
                  BatchMode yes
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  LogLevel ERROR
                """.formatted(port, username(bob), username(bob), proxyPort, bob.resolve(".ssh/id_ed25519")));
        Proc ssh = Proc.run(Map.of("HOME", bob.toString()), List.of("ssh", "-F", cfg.toString(), "alice-env", "echo", "inside"));
        assertNotEquals(0, ssh.exit(), ssh.out());
        assertFalse(ssh.out().contains("inside"), ssh.out());
        assertTrue(Files.readString(serverLog).contains("refused '" + username(bob) + "' a tunnel to 127.0.0.1:" + port));
    }

    @Test
    void anAddedUserCanConnectByNameButNotCancel() throws Exception {
        Path alice = newUser("alice");
        Path bob = newUser("bob");
        active(alice, "shared");
        Proc add = cli(alice, "edit", "shared", "--add-user", username(bob));
        assertEquals(0, add.exit(), add.out());
        assertTrue(add.out().contains("user " + username(bob) + " added"), add.out());
        assertFalse(add.out().contains("now until"), "adding a user says nothing of the end: " + add.out());
        Proc extend = cli(alice, "edit", "shared", "--extend", "0.5");
        assertEquals(0, extend.exit(), extend.out());
        assertEquals(1, extend.out().lines().count(), "one line, not the history's and its own: " + extend.out());
        assertTrue(extend.out().startsWith("Extended by 0.5 h: now until "), extend.out());
        Proc run = cli(bob, "connect", "shared", "--", "echo", "bob-inside");
        assertEquals(0, run.exit(), run.out());
        assertTrue(run.out().contains("bob-inside"), run.out());
        Proc cancel = cli(bob, "cancel", "shared");
        assertEquals(2, cancel.exit(), "an added user may connect, not cancel");
        assertTrue(cancel.out().contains("only " + username(alice)), cancel.out());
        assertEquals(2, cli(alice, "edit", "shared", "--add-user", "nobody-here").exit());
    }

    @Test
    void aDistributedReservationGetsWholeNodesThatKnowEachOther() throws Exception {
        Path alice = newUser("alice");
        Proc noFlag = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "16", "--no-wait");
        assertEquals(2, noFlag.exit());
        assertTrue(noFlag.out().contains("--distributed"), noFlag.out());
        assertEquals(2, cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "24", "--distributed", "--no-wait").exit(),
                "more whole nodes than there are");
        Proc r = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "16", "--distributed", "--hours", "1", "--name", "multi", "--wait");
        assertEquals(0, r.exit(), r.out());
        String master = null;
        for (int rank = 0; rank < 2; rank++) {
            Proc run = cli(alice, "connect", "multi", "--node", Integer.toString(rank), "--",
                    "echo", "rank=$NODE_RANK", "world=$WORLD_SIZE", "master=$MASTER_ADDR:$MASTER_PORT", "gpus=$CUDA_VISIBLE_DEVICES");
            assertEquals(0, run.exit(), run.out());
            var m = Pattern.compile("rank=" + rank + " world=2 master=(127\\.0\\.0\\.1:\\d+) gpus=0,1,2,3,4,5,6,7").matcher(run.out());
            assertTrue(m.find(), run.out());
            master = master == null ? m.group(1) : master;
            assertEquals(master, m.group(1), "every node meets at node 0");
        }
        assertEquals(2, cli(alice, "connect", "multi", "--node", "2", "--", "true").exit());
        assertEquals(0, cli(alice, "cancel", "multi").exit());
    }

    @Test
    void badInputGetsAClearMessageAndExitCode2() throws Exception {
        Path alice = newUser("alice");
        Proc odd = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "3", "--no-wait");
        assertEquals(2, odd.exit());
        assertTrue(odd.out().contains("use 1, 2, 4 or 8"), odd.out());
        Proc unknown = cli(alice, "reserve", "--gpu-type", "h999", "--no-wait");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.out().contains("unknown gpu_type"), unknown.out());
        assertEquals(2, cli(alice, "reserve", "--gpu-type", "h100", "--hours", "25", "--no-wait").exit());
        Proc abc = cli(alice, "reserve", "--gpu-type", "h100", "--hours", "abc");
        assertEquals(2, abc.exit());
        assertTrue(abc.out().contains("abc") && abc.out().lines().count() <= 3, "one line about the value, no usage dump: " + abc.out());
        assertEquals(2, cli(alice, "frobnicate").exit());
        assertEquals(2, cli(alice, "list", "-o", "yaml").exit());
        assertFalse(Files.readString(serverLog).contains("Exception"), "no stack trace in the server log");
    }

    @Test
    void disksAreCreatedUsedListedRenamedAndDeleted() throws Exception {
        Path alice = newUser("alice");
        assertEquals(0, cli(alice, "disk", "create", "datasets").exit());
        assertEquals(2, cli(alice, "disk", "create", "datasets").exit(), "exists already");
        active(alice, "ondisk", "--disk", "datasets");
        assertEquals(0, cli(alice, "connect", "ondisk", "--", "echo", "kept", ">", "notes.txt").exit());
        assertTrue(cli(alice, "disk", "list").out().contains("datasets"));
        assertEquals(2, cli(alice, "disk", "delete", "datasets").exit(), "not while a reservation uses it");
        assertEquals(0, cli(alice, "cancel", "ondisk").exit());
        Proc content = cli(alice, "disk", "list-content", "datasets");
        assertEquals(0, content.exit(), content.out());
        assertTrue(content.out().contains("notes.txt") && content.out().contains("total: "), content.out());
        Proc renamed = cli(alice, "disk", "rename", "datasets", "archive");
        assertEquals(0, renamed.exit(), renamed.out());
        assertTrue(cli(alice, "disk", "list-content", "archive").out().contains("notes.txt"), "the files go with the disk");
        assertTrue(cli(alice, "disk", "list").out().contains("archive"));
        assertEquals(2, cli(alice, "disk", "rename", "datasets", "again").exit(), "the old name is gone");
        assertEquals(2, cli(alice, "disk", "rename", "archive", "Not_A_Name").exit(), "names are lowercase");
        JsonNode again = active(alice, "ondisk2", "--disk", "archive");
        Proc read = cli(alice, "connect", "ondisk2", "--", "cat", "notes.txt");
        assertTrue(read.out().contains("kept"), read.out());
        assertEquals(0, cli(alice, "cancel", again.get("job_id").asText()).exit());
        assertEquals(0, cli(alice, "disk", "delete", "archive").exit());
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (!cli(alice, "disk", "list").out().lines().noneMatch(l -> l.startsWith("archive"))) {
            assertTrue(Instant.now().isBefore(deadline), "the disk is gone");
            Thread.sleep(100);
        }
    }

    @Test
    void keysRotateAndNoSecretEverReachesTheLog() throws Exception {
        Path alice = newUser("alice");
        Path bob = newUser("bob");
        String before = Files.readString(alice.resolve(".gpu-dev/credentials"));
        Proc rotate = cli(alice, "keys", "rotate", "--revoke-old");
        assertEquals(0, rotate.exit(), rotate.out());
        String after = Files.readString(alice.resolve(".gpu-dev/credentials"));
        assertNotEquals(before, after);
        assertEquals(0, cli(alice, "list").exit(), "the new key works");
        // Every secret this run handed out: the bootstrap token, invites' keys, every API key ever saved.
        List<String> secrets = new ArrayList<>();
        secrets.add(Files.readString(dataDir.resolve("admin-token")).trim());
        for (String creds : List.of(before, after, Files.readString(bob.resolve(".gpu-dev/credentials")),
                Files.readString(admin.resolve(".gpu-dev/credentials")))) {
            var m = Pattern.compile("\"api_key\" : \"([^\"]+)\"").matcher(creds);
            while (m.find()) {
                secrets.add(m.group(1));
            }
        }
        String log = Files.readString(serverLog);
        for (String secret : secrets) {
            assertFalse(log.contains(secret), "a secret is in the server log");
            assertFalse(log.contains(secret.substring(0, 20)), "part of a secret is in the server log");
        }
        assertTrue(secrets.size() >= 5, secrets.size() + " secrets checked");
    }

    @Test
    void submitToActiveIsFast() throws Exception {
        Path alice = newUser("alice");
        List<Long> millis = new ArrayList<>();
        List<Long> serverMillis = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long start = System.nanoTime();
            Proc r = cli(alice, "reserve", "--gpu-type", "h100", "--gpus", "1", "--hours", "0.1", "--name", "t" + i, "--wait");
            assertEquals(0, r.exit(), r.out());
            millis.add((System.nanoTime() - start) / 1_000_000);
            var history = show(alice, "t" + i).get("status_history");
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
    }

    @Test
    void doctorChecksTheMachineAndRunsAThrowawayEnvironment() throws Exception {
        Proc doctor = Proc.run(Map.of("HOME", root.toString()), List.of(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar"),
                "doctor", "--simulated-gpus", "h100:1"));
        assertEquals(0, doctor.exit(), doctor.out());
        assertTrue(doctor.out().contains("CUDA_VISIBLE_DEVICES=0"), doctor.out());
        assertTrue(doctor.out().contains("all checks passed"), doctor.out());
        System.out.println("doctor (simulated GPUs):\n" + doctor.out());
    }

    @Test
    void awsLoginSignsLocallyAndLogsInAgainWhenTheKeyIsRevoked() throws Exception {
        Path carol = Proc.newHome(root, "carol");
        Map<String, String> env = Map.of("HOME", carol.toString(), "GPU_DEV_API_URL", apiUrl, "AWS_ACCESS_KEY_ID", "AKIDCAROL",
                "AWS_SECRET_ACCESS_KEY", "not-sent-anywhere", "AWS_REGION", "us-east-1", "AWS_ENDPOINT_URL_STS", sts.url());
        List<String> cli = List.of(Proc.java(), "-jar", Proc.jar("cli", "gpudev-cli.jar"));
        Proc login = Proc.run(env, concat(cli, "login"));
        assertEquals(0, login.exit(), login.out());
        assertTrue(login.out().contains("as carol_example.com (AWS arn:aws:sts::123456789012:assumed-role/SSOCloudDevGpuReservation/"),
                login.out());
        assertFalse(Files.readString(serverLog).contains("not-sent-anywhere"));
        // An admin revokes carol's key; her next command logs in again by itself and goes through.
        String carolKey = key(carol);
        var id = api("GET", "/v1/keys", carolKey, null).get("keys").get(0).get("key_id").asLong();
        api("DELETE", "/v1/keys/" + id, key(admin), null);
        Proc list = Proc.run(env, concat(cli, "list"));
        assertEquals(0, list.exit(), list.out());
        assertFalse(Files.readString(carol.resolve(".gpu-dev/credentials")).contains(carolKey), "a new key was saved");
    }

    static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }
}
