package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The commands about reservations: list, show, connect, cancel, edit. */
final class JobCommands {
    private JobCommands() {
    }

    static final class ListJobs extends Base implements Runnable {
        static Cli.Command command() {
            Cli.Command c = Cli.Command.of("list", "Your reservations and those shared with you, newest first.")
                    .text("--status", "STATES", "only these states, comma-separated (e.g. queued,active)")
                    .flag("--all", "everyone's (admins)")
                    .integer("--limit", "N", 50, "at most this many")
                    // names (else short ids) of live reservations, one a line: for completion
                    .hiddenFlag("--names")
                    .action(new ListJobs());
            return Watch.options(OutputFormat.option(c));
        }

        private OutputFormat format;
        private String status;
        private boolean all;
        private int limit;

        @Override
        int call() throws InterruptedException {
            format = OutputFormat.of(args);
            status = args.text("--status");
            all = args.flag("--all");
            limit = args.integer("--limit");
            Watch watch = Watch.of(args);
            if (args.flag("--names")) {
                for (JsonNode j : api().get("/v1/jobs?status=queued,preparing,active&limit=200").get("jobs")) {
                    out().println(j.hasNonNull("name") ? j.get("name").asText() : j.get("job_id").asText().substring(0, 8));
                }
                out().flush();
                return 0;
            }
            return watch.repeat(out(), this);
        }

        /** One listing (again and again with --watch). */
        @Override
        public void run() {
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
            java.time.Instant now = java.time.Instant.now();
            for (JsonNode j : jobs) {
                String when = "active".equals(j.get("status").asText()) ? Output.until(j.path("expires_at").asText(""), now)
                        : j.hasNonNull("queue_position") ? "#" + j.get("queue_position").asInt()
                        + (j.hasNonNull("estimated_start_at") ? ", ~" + Output.brief(j.get("estimated_start_at").asText(), now) : "") : "";
                rows.add(List.of(j.get("job_id").asText().substring(0, 8), j.path("name").asText("-"),
                        status(j), j.get("gpu_count").asInt() + "x" + j.get("gpu_type").asText(),
                        Output.brief(j.get("created_at").asText(), now), when));
            }
            Output.table(out(), rows, terminal(), 2);
        }
    }

    /** The state, and a batch run's own: "active, running python train.py", "failed (exit 3)", "expired, exited 0". */
    static String status(JsonNode j) {
        String status = j.get("status").asText();
        JsonNode run = j.path("run");
        if (run.isMissingNode() || run.isNull()) {
            return status;
        }
        String state = run.path("state").asText("");
        if ("running".equals(state)) {
            String cmd = run.path("command_line").asText("");
            return status + ", running" + (cmd.isEmpty() ? "" : " " + (cmd.length() > 30 ? cmd.substring(0, 29) + "…" : cmd));
        }
        if (state.startsWith("failed") && "failed".equals(status)) {
            return state;
        }
        return state.isEmpty() || "waiting".equals(state) ? status : status + ", " + state;
    }

    static final class Show extends Base {
        static Cli.Command command() {
            return OutputFormat.option(Cli.Command.of("show", "One reservation in detail (by id, id prefix or name).")
                    .param("ID|NAME", null).action(new Show()));
        }

        @Override
        int call() {
            OutputFormat format = OutputFormat.of(args);
            String ref = args.param(0);
            JsonNode j = api().get("/v1/jobs/" + Output.pathSegment(ref));
            if (format.json()) {
                printJson(j);
                return 0;
            }
            PrintWriter o = out();
            o.println("Reservation " + j.get("job_id").asText() + (j.hasNonNull("name") ? " (" + j.get("name").asText() + ")" : ""));
            o.println("  status:    " + j.get("status").asText() + (j.hasNonNull("current_detailed_status")
                    ? " — " + j.get("current_detailed_status").asText() : ""));
            boolean oneNode = !j.hasNonNull("nodes") || j.get("nodes").size() == 1;
            o.println("  GPUs:      " + j.get("gpu_count").asInt() + " x " + j.get("gpu_type").asText()
                    + (j.hasNonNull("node") && oneNode ? " on " + j.get("node").asText()
                    + (j.hasNonNull("gpus") && !j.get("gpus").isEmpty() ? " " + Json.compact(j.get("gpus")) : "") : ""));
            if (!oneNode) {
                for (JsonNode n : j.get("nodes")) {
                    o.println("    node " + n.get("rank").asInt() + ": " + n.get("node").asText() + " GPUs " + Json.compact(n.get("gpus"))
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
            if (j.hasNonNull("estimate_note")) {
                o.println("  estimate:  " + j.get("estimate_note").asText());
            }
            if (j.hasNonNull("expires_at")) {
                o.println("  expires:   " + j.get("expires_at").asText() + (j.hasNonNull("preempted_at") ? " (preempted: a reservation with a"
                        + " better claim needs its GPUs; your home is kept)" : ""));
            }
            if (j.hasNonNull("team")) {
                o.println("  team:      " + j.get("team").asText());
            }
            if (j.hasNonNull("run")) {
                JsonNode run = j.get("run");
                o.println("  run:       " + (run.hasNonNull("command_line") ? run.get("command_line").asText() + " — " : "")
                        + run.get("state").asText() + (run.path("keep").asBoolean() ? " (kept until its hours are up)" : "")
                        + (run.hasNonNull("workdir") ? "; in ~/" + run.get("workdir").asText() : ""));
                o.println("  output:    gpu-dev logs " + ref + " (in the home: " + run.get("log").asText() + ")");
            }
            if (j.hasNonNull("env") && !j.get("env").isEmpty()) {
                List<String> names = new ArrayList<>();
                j.get("env").fieldNames().forEachRemaining(names::add);
                o.println("  env:       " + String.join(", ", names) + " (values: show -o json)");
            }
            if (!"normal".equals(j.path("priority_class").asText("normal"))) {
                o.println("  class:     " + j.get("priority_class").asText());
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

    static final class Connect extends Base {
        static Cli.Command command() {
            return Cli.Command.of("connect", "Open a shell in an environment, or run a command: connect ID -- CMD...")
                    .param("ID|NAME", null)
                    .rest("CMD", "a command to run instead of a shell")
                    .integer("--node", "N", 0, "which node of a distributed reservation (default 0)")
                    .integers("--forward", "PORT", "forward this port of the environment to the same port here"
                            + " (e.g. 8888 for Jupyter); repeatable")
                    .action(new Connect());
        }

        @Override
        int call() throws Exception {
            String ref = args.param(0);
            List<String> command = args.rest(1);
            int node = args.integer("--node");
            List<Integer> forward = args.integers("--forward");
            ObjectNode creds = session().credentials();
            ApiClient api = api();
            JsonNode j = api.get("/v1/jobs/" + Output.pathSegment(ref));
            if (!"active".equals(j.get("status").asText())) {
                throw new CliException(2, "reservation " + ref + " is " + j.get("status").asText()
                        + ("queued".equals(j.get("status").asText()) ? ": wait for it with `gpu-dev show " + ref + "`" : ""));
            }
            int nodes = j.hasNonNull("nodes") ? j.get("nodes").size() : 1;
            if (node < 0 || node >= nodes) {
                throw new CliException(2, "reservation " + ref + " has " + nodes + " node(s): --node 0" + (nodes > 1 ? " to " + (nodes - 1) : ""));
            }
            for (int port : forward) {
                if (port < 1 || port > 65535) {
                    throw new CliException(2, "--forward " + port + " is not a port (1-65535)");
                }
            }
            Path config = SshConfig.write(settings, creds, activeWith(api, j));
            List<String> cmd = new ArrayList<>(List.of("ssh", "-F", config.toString()));
            for (int port : forward) {
                cmd.addAll(List.of("-L", port + ":127.0.0.1:" + port));
            }
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

    static final class Cancel extends Base {
        static Cli.Command command() {
            return Cli.Command.of("cancel", "End a reservation now.").param("ID|NAME", null).action(new Cancel());
        }

        @Override
        int call() {
            String ref = args.param(0);
            ApiClient api = api();
            String id = api.post("/v1/jobs/" + Output.pathSegment(ref) + "/cancel", null).get("job_id").asText();
            JsonNode j = Poll.until(() -> api.get("/v1/jobs/" + id), Poll::ended, Duration.ofSeconds(30), Duration.ofMillis(200));
            out().println(Poll.ended(j) ? "Reservation " + id + " is " + j.get("status").asText()
                    : "Cancellation of " + id + " requested; it will end shortly");
            return 0;
        }
    }

    static final class Edit extends Base {
        static Cli.Command command() {
            return Cli.Command.of("edit", "Change a reservation in place: --extend HOURS, --hours HOURS (waiting), --add-user NAME,"
                            + " --enable-jupyter, --disable-jupyter.")
                    .param("ID|NAME", null)
                    .decimal("--extend", "HOURS", "add HOURS (fractional; at most 24 at a time, 48 in all)")
                    .decimal("--hours", "HOURS", "a waiting reservation's new duration (it keeps its place in line)")
                    .text("--add-user", "USER", "let another user read and connect to it")
                    .flag("--enable-jupyter", "start Jupyter Lab in the environment")
                    .flag("--disable-jupyter", "stop Jupyter Lab")
                    .action(new Edit());
        }

        @Override
        int call() {
            String ref = args.param(0);
            BigDecimal extend = args.decimal("--extend");
            BigDecimal hours = args.decimal("--hours");
            String addUser = args.text("--add-user");
            boolean enableJupyter = args.flag("--enable-jupyter");
            boolean disableJupyter = args.flag("--disable-jupyter");
            if (extend == null && hours == null && addUser == null && !enableJupyter && !disableJupyter) {
                throw new CliException(2, "nothing to change: give --extend HOURS, --hours HOURS, --add-user NAME, --enable-jupyter"
                        + " or --disable-jupyter");
            }
            if (extend != null && hours != null) {
                throw new CliException(2, "--extend (a running reservation) and --hours (a waiting one) contradict each other");
            }
            if (enableJupyter && disableJupyter) {
                throw new CliException(2, "--enable-jupyter and --disable-jupyter contradict each other");
            }
            ApiClient api = api();
            JsonNode before = api.get("/v1/jobs/" + Output.pathSegment(ref));
            String id = before.get("job_id").asText();
            List<String> expected = new ArrayList<>();
            if (extend != null) {
                api.post("/v1/jobs/" + id + "/extend", Map.of("extension_hours", extend));
                expected.add("extended by");
            }
            String meaning = null;
            if (hours != null) {
                meaning = api.post("/v1/jobs/" + id + "/duration", Map.of("duration_hours", hours)).path("message").asText(null);
                expected.add("duration changed");
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
            int[] seen = {before.get("status_history").size()};
            JsonNode j = Poll.until(() -> api.get("/v1/jobs/" + id), x -> expected.isEmpty(), Duration.ofSeconds(30),
                    x -> Duration.ofMillis(200), x -> {
                        JsonNode history = x.get("status_history");
                        for (; seen[0] < history.size(); seen[0]++) {
                            String reason = history.get(seen[0]).path("reason").asText("");
                            if (reason.contains("refused")) {
                                throw new CliException(2, reason);
                            }
                            expected.removeIf(reason::startsWith);
                            if (!reason.startsWith("extended by") && !reason.startsWith("duration changed")) { // said once, below
                                out().println(reason);
                            }
                        }
                    });
            if (!expected.isEmpty()) {
                out().println("Requested; not applied yet: " + String.join(", ", expected));
                return 0;
            }
            if (extend != null) {
                out().println("Extended by " + extend.stripTrailingZeros().toPlainString() + " h"
                        + (j.hasNonNull("expires_at") ? ": now until " + Output.time(j.get("expires_at").asText()) : "")
                        + " (" + j.get("duration_hours").asText() + " h in all)");
            }
            if (hours != null) {
                // the next plan places it again (moments): its place and estimate as they are then
                String estimated = j.path("estimated_start_at").asText("");
                JsonNode placed = Poll.until(() -> api.get("/v1/jobs/" + id),
                        x -> !"queued".equals(x.get("status").asText()) || !x.path("estimated_start_at").asText("").equals(estimated),
                        ReserveCommand.PLANNED_WITHIN, Duration.ofMillis(200));
                out().println("Now " + hours.stripTrailingZeros().toPlainString() + " h: " + ReserveCommand.placeInWords(placed)
                        + (meaning == null ? "" : "\n" + meaning));
            }
            if (enableJupyter) {
                JsonNode now = Poll.until(() -> api.get("/v1/jobs/" + id),
                        x -> x.path("current_detailed_status").asText("").contains("jupyter"), Duration.ofSeconds(10), Duration.ofMillis(200));
                String detail = now.path("current_detailed_status").asText("");
                if (detail.contains("jupyter")) {
                    out().println(detail.substring(detail.indexOf("jupyter")).replace("NAME", now.path("name").asText(id)));
                }
            }
            return 0;
        }
    }
}
