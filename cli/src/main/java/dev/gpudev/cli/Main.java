package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;

/** The gpu-dev command line. */
@Command(name = "gpu-dev", mixinStandardHelpOptions = true, version = "gpu-dev 0.1.0",
        description = "Reserve GPU development environments and connect to them.",
        subcommands = {Main.Login.class, Main.Reserve.class, Main.ListJobs.class, Main.Show.class, Main.Connect.class,
                Main.Cancel.class, Main.Edit.class, Main.Avail.class, Main.Status.class, Main.Disk.class, Main.SshConfigCommand.class, Main.ConfigCommand.class, Main.Keys.class,
                Main.Admin.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args, System.getenv()));
    }

    /** Runs one command; the environment is passed in so tests can give each run its own HOME. */
    public static int run(String[] args, Map<String, String> env) {
        CommandLine cl = new CommandLine(new Main(), new Factory(new Settings(env)));
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CliException ce) {
                cmd.getErr().println("error: " + ce.getMessage());
                return ce.exitCode();
            }
            cmd.getErr().println("error: " + e);
            return 1;
        });
        return cl.execute(args);
    }

    /** Hands every command the settings. */
    private record Factory(Settings settings) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            K k = CommandLine.defaultFactory().create(cls);
            if (k instanceof Base b) {
                b.settings = settings;
            }
            return k;
        }
    }

    /** Options every command has. */
    static final class Common {
        @Option(names = "--api-url", description = "the gpudev API (else GPU_DEV_API_URL, config api_url, http://127.0.0.1:8080)")
        String apiUrl;
    }

    abstract static class Base implements Callable<Integer> {
        Settings settings;

        @Mixin
        Common common;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        String apiUrl() {
            return settings.apiUrl(common.apiUrl);
        }

        ObjectNode creds() {
            ObjectNode c = settings.credentials();
            if (c == null || !c.hasNonNull("api_key")) {
                throw new CliException(2, "not logged in: run `gpu-dev login --token-file <data-dir>/admin-token` "
                        + "or ask an admin for `gpu-dev admin invite`");
            }
            return c;
        }

        /**
         * The API of the credentials (unless --api-url or the environment says otherwise). A key that
         * expires within 15 minutes is rotated first, so a long session never finds itself locked out.
         */
        ApiClient api() {
            ObjectNode c = creds();
            String url = common.apiUrl != null || settings.hasEnvApiUrl() || !c.hasNonNull("api_url")
                    ? apiUrl() : c.get("api_url").asText();
            ApiClient client = new ApiClient(url, c.get("api_key").asText());
            if ("aws".equals(c.path("login").asText())) {
                // An expired or revoked key is replaced by a fresh AWS login, once, and the request retried.
                client = client.onUnauthorized(() -> {
                    JsonNode fresh = new ApiClient(url, null).post("/v1/auth/aws-login", AwsSignedLogin.request(settings.env()));
                    c.put("api_key", fresh.get("api_key").asText());
                    c.put("expires_at", fresh.get("expires_at").asText());
                    settings.saveCredentials(c);
                    return fresh.get("api_key").asText();
                });
            }
            Instant expires = c.hasNonNull("expires_at") ? Instant.parse(c.get("expires_at").asText()) : null;
            if (expires != null && expires.isAfter(Instant.now()) && expires.isBefore(Instant.now().plus(Duration.ofMinutes(15)))) {
                client = rotate(client, url, c, false);
            }
            return client;
        }

        ApiClient rotate(ApiClient client, String url, ObjectNode c, boolean revokeOld) {
            JsonNode fresh = client.post("/v1/keys/rotate", Map.of("revoke_old", revokeOld));
            c.put("api_key", fresh.get("api_key").asText());
            c.put("expires_at", fresh.get("expires_at").asText());
            settings.saveCredentials(c);
            return new ApiClient(url, fresh.get("api_key").asText());
        }

        void printJson(JsonNode node) {
            out().println(node.toPrettyString());
        }
    }

    @Command(name = "login", mixinStandardHelpOptions = true,
            description = "Log in (with AWS credentials by default, or a token from an admin) and register your SSH key.")
    static final class Login extends Base {
        @Option(names = "--token", description = "a login token from an admin (`gpu-dev admin invite`)")
        String token;

        @Option(names = "--token-file", description = "a file holding the token, e.g. <data-dir>/admin-token")
        Path tokenFile;

        @Option(names = "--ssh-key", description = "public key to register (default ~/.ssh/id_ed25519.pub, else id_rsa.pub)")
        Path sshKey;

        @Override
        public Integer call() throws IOException {
            String t = token;
            if (tokenFile != null) {
                if (!Files.isReadable(tokenFile)) {
                    throw new CliException(2, "cannot read token file " + tokenFile);
                }
                t = Files.readString(tokenFile).trim();
            }
            Path pub = sshKey != null ? sshKey : defaultPublicKey();
            if (pub == null || !Files.isReadable(pub)) {
                throw new CliException(2, "no SSH public key found: create one with `ssh-keygen -t ed25519` or pass --ssh-key");
            }
            String url = apiUrl();
            boolean aws = t == null || t.isBlank();
            JsonNode login = aws
                    ? new ApiClient(url, null).post("/v1/auth/aws-login", AwsSignedLogin.request(settings.env()))
                    : new ApiClient(url, null).post("/v1/auth/token-login", Map.of("token", t));
            String key = login.get("api_key").asText();
            new ApiClient(url, key).post("/v1/ssh-keys", Map.of("public_key", Files.readString(pub).trim()));
            ObjectNode creds = Settings.JSON.createObjectNode();
            creds.put("api_url", url);
            creds.put("api_key", key);
            creds.put("username", login.get("username").asText());
            creds.put("expires_at", login.get("expires_at").asText());
            String identity = pub.toString().endsWith(".pub") ? pub.toString().substring(0, pub.toString().length() - 4) : pub.toString();
            creds.put("ssh_identity", identity);
            creds.put("login", aws ? "aws" : "token");
            settings.saveCredentials(creds);
            out().println("Logged in to " + url + " as " + login.get("username").asText()
                    + (aws ? " (AWS " + login.path("aws_arn").asText() + ")" : "")
                    + (login.path("is_admin").asBoolean() ? " (admin)" : "") + "; key valid until " + login.get("expires_at").asText());
            out().println("Registered SSH key " + pub);
            return 0;
        }

        private Path defaultPublicKey() {
            for (String name : List.of("id_ed25519.pub", "id_rsa.pub")) {
                Path p = settings.home().resolve(".ssh").resolve(name);
                if (Files.isReadable(p)) {
                    return p;
                }
            }
            return null;
        }
    }

    @Command(name = "reserve", mixinStandardHelpOptions = true, description = "Reserve GPUs.")
    static final class Reserve extends Base {
        @Option(names = "--gpu-type", required = true, description = "h100, a100, ... (see `gpu-dev avail`)")
        String gpuType;

        @Option(names = "--gpus", defaultValue = "1", description = "GPUs: 1, 2, 4 or 8 (default ${DEFAULT-VALUE})")
        int gpus;

        @Option(names = "--hours", defaultValue = "1", description = "duration in hours, fractional (5 minutes to 24 h; default ${DEFAULT-VALUE})")
        BigDecimal hours;

        @Option(names = "--name", description = "a name to refer to it by (lowercase letters, digits, '-')")
        String name;

        @Option(names = "--distributed", description = "span whole nodes (--gpus a multiple of the node size), gang scheduled")
        boolean distributed;

        @Option(names = "--keep-when-idle", description = "opt out of idle detection (no idle warning or release)")
        boolean keepWhenIdle;

        @Option(names = "--disk", description = "a named persistent disk as home (created on first use)")
        String disk;

        @Option(names = "--no-persist", description = "a scratch home, deleted when the reservation ends")
        boolean noPersist;

        @Option(names = "--image", description = "container image (Kubernetes backend)")
        String image;

        @Option(names = "--node-label", description = "KEY=VALUE the node must have (repeatable)")
        Map<String, String> nodeLabels;

        @Option(names = "--wait", negatable = true, description = "follow it until it is active (default: on a terminal)")
        Boolean wait;

        @Mixin
        OutputFormat format;

        @Override
        public Integer call() throws InterruptedException {
            format.check();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("gpu_type", gpuType);
            body.put("gpu_count", gpus);
            body.put("duration_hours", hours);
            if (name != null) {
                body.put("name", name);
            }
            if (distributed) {
                body.put("distributed", true);
            }
            if (keepWhenIdle) {
                body.put("keep_when_idle", true);
            }
            if (disk != null) {
                body.put("disk_name", disk);
            }
            if (noPersist) {
                body.put("no_persist", true);
            }
            if (image != null) {
                body.put("image", image);
            }
            if (nodeLabels != null && !nodeLabels.isEmpty()) {
                body.put("node_labels", nodeLabels);
            }
            ApiClient api = api();
            JsonNode job = api.post("/v1/jobs/submit", body);
            boolean follow = wait != null ? wait : System.console() != null && format.output == null;
            if (!follow) {
                if (format.json()) {
                    printJson(job);
                } else {
                    out().println("Submitted " + job.get("job_id").asText() + " (" + job.get("status").asText() + ")");
                }
                return 0;
            }
            if (!format.json()) {
                out().println("Submitted " + job.get("job_id").asText() + "; waiting for it to start…");
            }
            JsonNode last = Follow.untilSettled(api, job.get("job_id").asText(), format.json() ? null : out());
            if (format.json()) {
                printJson(last);
            }
            String status = last.get("status").asText();
            if (!"active".equals(status)) {
                throw new CliException(1, "reservation " + status + ": " + Objects.toString(
                        last.hasNonNull("failure_reason") ? last.get("failure_reason").asText() : null, "see `gpu-dev show`"));
            }
            if (!format.json()) {
                String ref = last.hasNonNull("name") ? last.get("name").asText() : last.get("job_id").asText();
                out().println("Active on GPUs " + last.get("gpus") + " until " + last.get("expires_at").asText());
                out().println("Connect with:  gpu-dev connect " + ref);
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Your reservations, newest first.")
    static final class ListJobs extends Base {
        @Option(names = "--status", description = "only these states, comma-separated (e.g. queued,active)")
        String status;

        @Option(names = "--all", description = "everyone's (admins)")
        boolean all;

        @Option(names = "--limit", defaultValue = "50")
        int limit;

        @Mixin
        OutputFormat format;

        @Mixin
        Watch watch;

        @Override
        public Integer call() throws InterruptedException {
            format.check();
            return watch.repeat(out(), this::once);
        }

        private void once() {
            StringBuilder q = new StringBuilder("/v1/jobs?limit=" + limit);
            if (status != null) {
                q.append("&status=").append(java.net.URLEncoder.encode(status, java.nio.charset.StandardCharsets.UTF_8));
            }
            if (all) {
                q.append("&all_users=true");
            }
            JsonNode jobs = api().get(q.toString()).get("jobs");
            if (format.json()) {
                printJson(jobs);
                return;
            }
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("ID", "NAME", "STATUS", "GPUS", "CREATED", "ENDS / POSITION"));
            for (JsonNode j : jobs) {
                String when = "active".equals(j.get("status").asText()) ? Output.time(j.path("expires_at").asText(""))
                        : j.hasNonNull("queue_position") ? "#" + j.get("queue_position").asInt()
                        + (j.hasNonNull("estimated_start_at") ? ", starts ~" + Output.time(j.get("estimated_start_at").asText()) : "") : "";
                rows.add(List.of(j.get("job_id").asText().substring(0, 8), j.path("name").asText("-"),
                        j.get("status").asText(), j.get("gpu_count").asInt() + "x" + j.get("gpu_type").asText(),
                        Output.time(j.get("created_at").asText()), when));
            }
            Output.table(out(), rows);
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One reservation in detail.")
    static final class Show extends Base {
        @Parameters(paramLabel = "ID|NAME")
        String ref;

        @Mixin
        OutputFormat format;

        @Override
        public Integer call() {
            format.check();
            JsonNode j = api().get("/v1/jobs/" + Output.pathSegment(ref));
            if (format.json()) {
                printJson(j);
                return 0;
            }
            PrintWriter o = out();
            o.println("Reservation " + j.get("job_id").asText() + (j.hasNonNull("name") ? " (" + j.get("name").asText() + ")" : ""));
            o.println("  status:    " + j.get("status").asText() + (j.hasNonNull("current_detailed_status")
                    ? " — " + j.get("current_detailed_status").asText() : ""));
            o.println("  GPUs:      " + j.get("gpu_count").asInt() + " x " + j.get("gpu_type").asText()
                    + (j.hasNonNull("gpus") && j.get("nodes").size() == 1 ? " " + j.get("gpus") + " on " + j.get("node").asText() : ""));
            if (j.hasNonNull("nodes") && j.get("nodes").size() > 1) {
                for (JsonNode n : j.get("nodes")) {
                    o.println("    node " + n.get("rank").asInt() + ": " + n.get("node").asText() + " GPUs " + n.get("gpus")
                            + "  (gpu-dev connect " + ref + " --node " + n.get("rank").asInt() + ")");
                }
            }
            o.println("  duration:  " + j.get("duration_hours").asText() + " h");
            if (j.hasNonNull("queue_position")) {
                o.println("  position:  " + j.get("queue_position").asInt() + " (" + j.path("pending_reason").asText("") + ")");
            }
            if (j.hasNonNull("estimated_start_at")) {
                o.println("  starts:    ~" + j.get("estimated_start_at").asText() + " (estimated)");
            }
            if (j.hasNonNull("expires_at")) {
                o.println("  expires:   " + j.get("expires_at").asText());
            }
            if (j.hasNonNull("failure_reason")) {
                o.println("  failure:   " + j.get("failure_reason").asText());
            }
            if (j.hasNonNull("ssh_command")) {
                o.println("  ssh:       " + j.get("ssh_command").asText());
            }
            o.println("  history:");
            for (JsonNode h : j.get("status_history")) {
                o.println("    " + h.get("at").asText() + "  " + h.get("status").asText() + "  " + h.path("reason").asText(""));
            }
            return 0;
        }
    }

    @Command(name = "connect", mixinStandardHelpOptions = true, description = "Open a shell in an environment, or run a command: connect ID -- CMD...")
    static final class Connect extends Base {
        @Parameters(index = "0", paramLabel = "ID|NAME")
        String ref;

        @Parameters(index = "1..*", paramLabel = "CMD", description = "a command to run instead of a shell")
        List<String> command = new ArrayList<>();

        @Option(names = "--node", defaultValue = "0", description = "which node of a distributed reservation (default 0)")
        int node;

        @Override
        public Integer call() throws Exception {
            ObjectNode creds = creds();
            JsonNode j = api().get("/v1/jobs/" + Output.pathSegment(ref));
            if (!"active".equals(j.get("status").asText())) {
                throw new CliException(2, "reservation " + ref + " is " + j.get("status").asText()
                        + ("queued".equals(j.get("status").asText()) ? ": wait for it with `gpu-dev show " + ref + "`" : ""));
            }
            int nodes = j.hasNonNull("nodes") ? j.get("nodes").size() : 1;
            if (node < 0 || node >= nodes) {
                throw new CliException(2, "reservation " + ref + " has " + nodes + " node(s): --node 0" + (nodes > 1 ? " to " + (nodes - 1) : ""));
            }
            Path config = SshConfig.write(settings, creds, activeWith(api(), j));
            List<String> cmd = new ArrayList<>(List.of("ssh", "-F", config.toString()));
            if (!command.isEmpty() && System.console() == null) {
                cmd.add("-T");
            }
            cmd.add(SshConfig.hostAlias(j, node));
            cmd.addAll(command);
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            return p.waitFor();
        }
    }

    /** The caller's active reservations, and this one (it may be shared with them rather than theirs). */
    static List<JsonNode> activeWith(ApiClient api, JsonNode job) {
        List<JsonNode> all = new ArrayList<>();
        all.add(job);
        for (JsonNode other : api.get("/v1/jobs?status=active&limit=500").get("jobs")) {
            if (!other.get("job_id").equals(job.get("job_id"))) {
                all.add(other);
            }
        }
        return all;
    }

    @Command(name = "ssh-config", mixinStandardHelpOptions = true,
            description = "Write ~/.gpu-dev/ssh_config for your active reservations (ssh, scp, VS Code Remote-SSH).")
    static final class SshConfigCommand extends Base {
        @Override
        public Integer call() {
            ObjectNode c = creds();
            JsonNode jobs = api().get("/v1/jobs?status=active&limit=500").get("jobs");
            List<JsonNode> list = new ArrayList<>();
            jobs.forEach(list::add);
            Path file = SshConfig.write(settings, c, list);
            out().println("Wrote " + file + " (" + list.size() + " active reservation" + (list.size() == 1 ? "" : "s") + ")");
            for (JsonNode j : list) {
                int nodes = j.hasNonNull("nodes") ? j.get("nodes").size() : 1;
                for (int n = 0; n < nodes; n++) {
                    out().println("  ssh -F " + file + " " + SshConfig.hostAlias(j, n)
                            + (j.hasNonNull("name") ? "   # " + j.get("name").asText() + (nodes > 1 ? " node " + n : "") : ""));
                }
            }
            out().println("Include it from ~/.ssh/config to drop the -F: gpu-dev config ssh-include");
            return 0;
        }
    }

    @Command(name = "config", mixinStandardHelpOptions = true, description = "Settings of this CLI.",
            subcommands = {ConfigCommand.Show.class, ConfigCommand.Set.class, ConfigCommand.SshInclude.class})
    static final class ConfigCommand {
        @Command(name = "show", mixinStandardHelpOptions = true, description = "The API URL in use and where it comes from, and who you are.")
        static final class Show extends Base {
            @Override
            public Integer call() {
                out().println("api_url:     " + apiUrl() + "   (--api-url, then GPU_DEV_API_URL, then " + settings.configFile()
                        + ", then " + Settings.DEFAULT_API_URL + ")");
                ObjectNode c = settings.credentials();
                out().println("credentials: " + settings.credentialsFile() + (c == null || !c.hasNonNull("api_key") ? " (not logged in)"
                        : " (" + c.path("username").asText() + ", key until " + c.path("expires_at").asText() + ", " + c.path("login").asText("token") + " login)"));
                out().println("ssh config:  " + settings.stateDir().resolve("ssh_config"));
                return 0;
            }
        }

        @Command(name = "set", mixinStandardHelpOptions = true, description = "Set a setting: config set api_url URL.")
        static final class Set extends Base {
            @Parameters(index = "0", paramLabel = "KEY")
            String key;

            @Parameters(index = "1", paramLabel = "VALUE")
            String value;

            @Override
            public Integer call() throws java.io.IOException {
                if (!"api_url".equals(key)) {
                    throw new CliException(2, "unknown setting '" + key + "': the one setting is api_url");
                }
                settings.apiUrl(value); // checks the URL
                settings.saveConfig("api_url", value.trim());
                out().println("api_url = " + value.trim() + " (in " + settings.configFile() + ")");
                return 0;
            }
        }

        @Command(name = "ssh-include", mixinStandardHelpOptions = true,
                description = "Include ~/.gpu-dev/ssh_config from ~/.ssh/config, so `ssh gpudev-…` and editors find your environments.")
        static final class SshInclude extends Base {
            @Override
            public Integer call() throws java.io.IOException {
                Path sshConfig = settings.home().resolve(".ssh").resolve("config");
                String line = "Include " + settings.stateDir().resolve("ssh_config");
                String current = java.nio.file.Files.exists(sshConfig) ? java.nio.file.Files.readString(sshConfig) : "";
                if (current.lines().anyMatch(l -> l.trim().equals(line))) {
                    out().println(sshConfig + " already includes it");
                    return 0;
                }
                java.nio.file.Files.createDirectories(sshConfig.getParent());
                // First in the file: an Include inside a Host block would only apply to that host.
                Settings.writePrivate(sshConfig, line + "\n\n" + current);
                out().println("Added to the top of " + sshConfig + ": " + line);
                return 0;
            }
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "End a reservation now.")
    static final class Cancel extends Base {
        @Parameters(paramLabel = "ID|NAME")
        String ref;

        @Override
        public Integer call() throws InterruptedException {
            ApiClient api = api();
            JsonNode res = api.post("/v1/jobs/" + Output.pathSegment(ref) + "/cancel", null);
            String id = res.get("job_id").asText();
            Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
            while (Instant.now().isBefore(deadline)) {
                JsonNode j = api.get("/v1/jobs/" + id);
                if ("cancelled".equals(j.get("status").asText()) || "expired".equals(j.get("status").asText())
                        || "failed".equals(j.get("status").asText())) {
                    out().println("Reservation " + id + " is " + j.get("status").asText());
                    return 0;
                }
                Thread.sleep(200);
            }
            out().println("Cancellation of " + id + " requested; it will end shortly");
            return 0;
        }
    }

    @Command(name = "edit", mixinStandardHelpOptions = true,
            description = "Change a reservation in place: --extend HOURS, --add-user NAME, --enable-jupyter, --disable-jupyter.")
    static final class Edit extends Base {
        @Parameters(paramLabel = "ID|NAME")
        String ref;

        @Option(names = "--extend", description = "add HOURS (fractional; at most 24 at a time, 48 in all)")
        BigDecimal extend;

        @Option(names = "--add-user", description = "let another user read and connect to it")
        String addUser;

        @Option(names = "--enable-jupyter", description = "start Jupyter Lab in the environment")
        boolean enableJupyter;

        @Option(names = "--disable-jupyter", description = "stop Jupyter Lab")
        boolean disableJupyter;

        @Override
        public Integer call() throws InterruptedException {
            if (extend == null && addUser == null && !enableJupyter && !disableJupyter) {
                throw new CliException(2, "nothing to change: give --extend HOURS, --add-user NAME, --enable-jupyter or --disable-jupyter");
            }
            if (enableJupyter && disableJupyter) {
                throw new CliException(2, "--enable-jupyter and --disable-jupyter contradict each other");
            }
            ApiClient api = api();
            JsonNode before = api.get("/v1/jobs/" + Output.pathSegment(ref));
            String id = before.get("job_id").asText();
            int seen = before.get("status_history").size();
            List<String> expected = new ArrayList<>();
            if (extend != null) {
                api.post("/v1/jobs/" + id + "/extend", Map.of("extension_hours", extend));
                expected.add("extended by");
            }
            if (addUser != null) {
                api.post("/v1/jobs/" + id + "/users", Map.of("username", addUser));
                expected.add("user " + addUser + " added");
            }
            if (enableJupyter || disableJupyter) {
                api.post("/v1/jobs/" + id + "/jupyter/" + (enableJupyter ? "enable" : "disable"), null);
                if (before.path("jupyter").asBoolean() != enableJupyter) {
                    expected.add("jupyter " + (enableJupyter ? "enabled" : "disabled"));
                }
            }
            Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
            JsonNode j = before;
            while (!expected.isEmpty() && Instant.now().isBefore(deadline)) {
                Thread.sleep(200);
                j = api.get("/v1/jobs/" + id);
                JsonNode history = j.get("status_history");
                for (; seen < history.size(); seen++) {
                    String reason = history.get(seen).path("reason").asText("");
                    if (reason.contains("refused")) {
                        throw new CliException(2, reason);
                    }
                    expected.removeIf(reason::startsWith);
                    out().println(reason);
                }
            }
            if (!expected.isEmpty()) {
                out().println("Requested; not applied yet: " + String.join(", ", expected));
                return 0;
            }
            if (j.hasNonNull("expires_at")) {
                out().println("Now until " + j.get("expires_at").asText() + " (" + j.get("duration_hours").asText() + " h in all)");
            }
            if (enableJupyter) {
                j = api.get("/v1/jobs/" + id);
                String detail = j.path("current_detailed_status").asText("");
                if (detail.contains("jupyter")) {
                    out().println(detail.substring(detail.indexOf("jupyter")));
                }
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "The cluster at a glance: GPUs and reservations.")
    static final class Status extends Base {
        @Mixin
        OutputFormat format;

        @Override
        public Integer call() {
            format.check();
            JsonNode s = api().get("/v1/cluster/status");
            if (format.json()) {
                printJson(s);
                return 0;
            }
            out().println("GPUs: " + s.get("gpus_in_use").asInt() + " of " + s.get("total_gpus").asInt() + " in use");
            JsonNode states = s.get("reservations_by_state");
            out().println("Reservations: " + states.get("active").asInt() + " active, " + states.get("preparing").asInt()
                    + " preparing, " + states.get("queued").asInt() + " queued");
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("TYPE", "NODES", "GPUS", "IN USE", "QUEUED"));
            s.get("by_gpu_type").fields().forEachRemaining(e -> rows.add(List.of(e.getKey(), e.getValue().get("nodes").asText(),
                    e.getValue().get("total_gpus").asText(), e.getValue().get("in_use").asText(), e.getValue().get("queued").asText())));
            Output.table(out(), rows);
            return 0;
        }
    }

    @Command(name = "avail", mixinStandardHelpOptions = true, description = "GPUs per type: total, in use, queued, available.")
    static final class Avail extends Base {
        @Mixin
        OutputFormat format;

        @Mixin
        Watch watch;

        @Override
        public Integer call() throws InterruptedException {
            format.check();
            return watch.repeat(out(), this::once);
        }

        private void once() {
            JsonNode types = api().get("/v1/gpu/availability").get("gpu_types");
            if (format.json()) {
                printJson(types);
                return;
            }
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("TYPE", "TOTAL", "IN USE", "QUEUED", "AVAILABLE", "MAX/NODE"));
            for (JsonNode t : types) {
                rows.add(List.of(t.get("gpu_type").asText() + (t.path("simulated").asBoolean() ? " (simulated)" : ""),
                        t.get("total").asText(), t.get("in_use").asText(), t.get("queued").asText(),
                        t.get("available").asText(), t.get("max_per_node").asText()));
            }
            Output.table(out(), rows);
        }
    }

    @Command(name = "disk", mixinStandardHelpOptions = true, description = "Your named persistent disks (reserve --disk NAME).",
            subcommands = {Disk.ListDisks.class, Disk.Create.class, Disk.Delete.class, Disk.Rename.class, Disk.ListContent.class})
    static final class Disk {
        /** Follows a disk operation (the processor carries it out) until it is done; a failure is the user's to read. */
        static JsonNode follow(ApiClient api, JsonNode op) {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (op.path("status").asText().equals("pending")) {
                if (System.nanoTime() > deadline) {
                    throw new CliException(1, "the disk operation is still pending after a minute (is the server's processor running?); "
                            + "see it later with: curl .../v1/disk-operations/" + op.path("operation_id").asText());
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CliException(1, "interrupted");
                }
                op = api.get("/v1/disk-operations/" + op.path("operation_id").asLong());
            }
            if (op.path("status").asText().equals("failed")) {
                throw new CliException(2, op.path("error").asText("the disk operation failed"));
            }
            return op;
        }

        @Command(name = "rename", mixinStandardHelpOptions = true, description = "Rename a disk, files and all (not while a reservation wants it).")
        static final class Rename extends Base {
            @Parameters(index = "0", paramLabel = "NAME")
            String name;
            @Parameters(index = "1", paramLabel = "NEW_NAME")
            String newName;

            @Override
            public Integer call() {
                ApiClient api = api();
                follow(api, api.post("/v1/disks/" + Output.pathSegment(name) + "/rename", Map.of("new_name", newName)));
                out().println("Disk " + name + " is now " + newName);
                return 0;
            }
        }

        @Command(name = "list-content", mixinStandardHelpOptions = true,
                description = "The files on a disk (the first 1,000, shallowest first) and its total size.")
        static final class ListContent extends Base {
            @Parameters(paramLabel = "NAME")
            String name;
            @Mixin
            OutputFormat format;

            @Override
            public Integer call() {
                format.check();
                ApiClient api = api();
                JsonNode result = follow(api, api.post("/v1/disks/" + Output.pathSegment(name) + "/list-content", Map.of())).get("result");
                if (format.json()) {
                    printJson(result);
                    return 0;
                }
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("SIZE", "MODIFIED", "PATH"));
                for (JsonNode e : result.get("entries")) {
                    rows.add(List.of(e.get("directory").asBoolean() ? "-" : bytes(e.get("size").asLong()),
                            Output.time(e.get("modified").asText()), e.get("path").asText() + (e.get("directory").asBoolean() ? "/" : "")));
                }
                if (rows.size() == 1) {
                    out().println("Disk " + name + " is empty (its directory appears on first use)");
                    return 0;
                }
                Output.table(out(), rows);
                out().println((result.get("truncated").asBoolean() ? "(more entries not shown) " : "") + "total: "
                        + bytes(result.get("total_bytes").asLong()));
                return 0;
            }
        }

        static String bytes(long n) {
            if (n < 1024) {
                return n + " B";
            }
            String[] units = {"KiB", "MiB", "GiB", "TiB"};
            double v = n;
            int u = -1;
            while (v >= 1024 && u < units.length - 1) {
                v /= 1024;
                u++;
            }
            return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
        }

        @Command(name = "list", mixinStandardHelpOptions = true, description = "Your disks and what uses them.")
        static final class ListDisks extends Base {
            @Mixin
            OutputFormat format;

            @Override
            public Integer call() {
                format.check();
                JsonNode disks = api().get("/v1/disks").get("disks");
                if (format.json()) {
                    printJson(disks);
                    return 0;
                }
                List<List<String>> rows = new ArrayList<>();
                rows.add(List.of("NAME", "CREATED", "LAST USED", "IN USE BY"));
                for (JsonNode d : disks) {
                    rows.add(List.of(d.get("name").asText(), Output.time(d.path("created_at").asText("")),
                            Output.time(d.path("last_used_at").asText("")), d.hasNonNull("in_use_by") ? d.get("in_use_by").asText().substring(0, 8) : "-"));
                }
                Output.table(out(), rows);
                return 0;
            }
        }

        @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a named disk.")
        static final class Create extends Base {
            @Parameters(paramLabel = "NAME")
            String name;

            @Override
            public Integer call() {
                api().post("/v1/disks", Map.of("name", name));
                out().println("Disk " + name + " created; use it with: gpu-dev reserve ... --disk " + name);
                return 0;
            }
        }

        @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a disk and everything on it.")
        static final class Delete extends Base {
            @Parameters(paramLabel = "NAME")
            String name;

            @Override
            public Integer call() {
                ApiClient api = api();
                var r = new ApiClient.Request("DELETE", "/v1/disks/" + Output.pathSegment(name));
                api.send(r);
                out().println("Disk " + name + " deleted");
                return 0;
            }
        }
    }

    @Command(name = "keys", mixinStandardHelpOptions = true, description = "Your API keys.", subcommands = Keys.Rotate.class)
    static final class Keys {
        @Command(name = "rotate", mixinStandardHelpOptions = true, description = "Get a new API key (the CLI also does this before one expires).")
        static final class Rotate extends Base {
            @Option(names = "--revoke-old", description = "end the current key now instead of at its expiry")
            boolean revokeOld;

            @Override
            public Integer call() {
                ObjectNode c = creds();
                String url = c.hasNonNull("api_url") && common.apiUrl == null ? c.get("api_url").asText() : apiUrl();
                rotate(new ApiClient(url, c.get("api_key").asText()), url, c, revokeOld);
                out().println("New API key saved; valid until " + c.get("expires_at").asText()
                        + (revokeOld ? "; the old one is revoked" : "; the old one stays valid until it expires"));
                return 0;
            }
        }
    }

    @Command(name = "admin", mixinStandardHelpOptions = true, description = "Administration.", subcommands = Admin.Invite.class)
    static final class Admin {
        @Command(name = "invite", mixinStandardHelpOptions = true, description = "Make a one-time login token for a new user.")
        static final class Invite extends Base {
            @Parameters(paramLabel = "USERNAME")
            String username;

            @Override
            public Integer call() {
                JsonNode res = api().post("/v1/admin/invites", Map.of("username", username));
                out().println(res.get("token").asText());
                spec.commandLine().getErr().println("Give this to " + username + "; they run: gpu-dev login --token TOKEN"
                        + " (valid until " + res.get("expires_at").asText() + ", once)");
                return 0;
            }
        }
    }
}
