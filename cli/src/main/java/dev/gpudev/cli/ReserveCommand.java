package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

class ReserveCommand extends Base {
    static Cli.Command command() {
        return OutputFormat.option(options(Cli.Command.of("reserve", "Reserve GPUs."))
                .toggle("--wait", "follow it until it is active (default: on a terminal)")
                .action(new ReserveCommand()));
    }

    /** What a reservation is asked with: reserve's options, also run's. */
    static Cli.Command options(Cli.Command c) {
        return c
                .text("--gpu-type", "TYPE", "h100, a100, ... (see `gpu-dev avail`; asked on a terminal), or several in order of preference"
                        + " (h100,a100): the one that starts earliest")
                .integer("--gpus", "N", null, "GPUs: 1, 2, 4 or 8 (default 1; asked on a terminal)")
                .decimal("--hours", "HOURS", "duration in hours, fractional (5 minutes to 24 h; default 1; asked on a terminal)")
                .text("--name", "NAME", "a name to refer to it by (lowercase letters, digits, '.', '_', '-')")
                .flag("--distributed", "whole nodes (--gpus a multiple of the node size), gang scheduled, with the rendezvous variables")
                .flag("--keep-when-idle", "opt out of idle detection (no idle warning or release)")
                .text("--disk", "NAME", "a named persistent disk as home (created on first use)")
                .flag("--no-persist", "a scratch home, deleted when the reservation ends")
                .text("--image", "IMAGE", "the container image it runs on (a registry's reference; the admin may allow only some registries)")
                .text("--dockerfile", "PATH", "build its image from this Dockerfile (at most 512 KB), once: the same Dockerfile and"
                        + " context reuse the image (gpu-dev logs NAME --build shows the build)")
                .text("--build-context", "DIR", "the files the Dockerfile's COPY sees (.gitignore and .dockerignore honoured; default: none)")
                .flag("--jupyter", "start Jupyter Lab in the environment")
                .flag("--preemptible", "run on GPUs nobody needs now (maybe at once), ended after a 10-minute notice (home"
                        + " kept) when someone with a better claim needs them; counts a quarter toward your fair share")
                .text("--priority", "CLASS", "normal (default), preemptible, high (admins), or a class your admins defined")
                .text("--start-at", "TIME", "book the GPUs for a window starting then: 2026-12-04T09:00Z, or +2h, +30m, +1d (at most"
                        + " 7 days ahead); refused when the window cannot be kept")
                .text("--team", "TEAM", "the team to charge (its share and guaranteed GPUs; default: your default or only team)")
                .pairs("--node-label", "KEY=VALUE", "a label the node must have (repeatable)")
                .pairs("--env", "KEY=VALUE", "a variable in every session of it (repeatable; shown to you only)")
                .text("--env-file", "FILE", "variables from a file of KEY=VALUE lines (# starts a comment)");
    }

    private String gpuType;
    private Integer gpus;
    private BigDecimal hours;

    @Override
    int call() throws Exception {
        OutputFormat format = OutputFormat.of(args);
        Map<String, Object> body = request();
        ApiClient api = api();
        JsonNode job = api.post("/v1/jobs/submit", body);
        Boolean wait = args.toggle("--wait");
        boolean follow = wait != null ? wait : System.console() != null && !format.given();
        if (!follow) {
            // The processor plans a new reservation within moments: give its place and estimate, not nulls.
            String id = job.get("job_id").asText();
            JsonNode planned = Poll.until(() -> api.get("/v1/jobs/" + id),
                    j -> !"queued".equals(j.get("status").asText()) || j.hasNonNull("queue_position"), PLANNED_WITHIN, Duration.ofMillis(150));
            if (format.json()) {
                printJson(planned);
            } else {
                out().println("Submitted " + id + ": " + placeInWords(planned));
            }
            return 0;
        }
        if (!format.json()) {
            out().println("Submitted " + job.get("job_id").asText() + "; waiting for it to start…");
        }
        JsonNode last = untilSettled(api, job.get("job_id").asText(), format.json() ? null : out());
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
            out().println("Active on GPUs " + Json.compact(last.get("gpus")) + " until " + last.get("expires_at").asText());
            out().println("Connect with:  gpu-dev connect " + ref);
        }
        return 0;
    }

    /** Packs the Dockerfile and its context and sends them (once per hash); the hash the submit names. */
    private String uploadBuild() {
        BuildContext.Packed packed;
        try {
            packed = BuildContext.pack(java.nio.file.Path.of(args.text("--dockerfile")),
                    args.text("--build-context") == null ? null : java.nio.file.Path.of(args.text("--build-context")));
        } catch (java.io.IOException e) {
            throw new CliException(2, "--dockerfile: cannot read it or its context (" + e.getMessage() + ")");
        }
        api().put("/v1/builds/" + packed.hash(), packed.bytes());
        return packed.hash();
    }

    /** The submit's body from reserve's options (what was not given is asked on a terminal). */
    Map<String, Object> request() {
        gpuType = args.text("--gpu-type");
        gpus = args.integer("--gpus");
        hours = args.decimal("--hours");
        ask();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("gpu_type", gpuType);
        body.put("gpu_count", gpus);
        body.put("duration_hours", hours);
        putText(body, "name", "--name");
        putFlag(body, "distributed", "--distributed");
        putFlag(body, "keep_when_idle", "--keep-when-idle");
        putText(body, "disk_name", "--disk");
        putFlag(body, "no_persist", "--no-persist");
        putText(body, "image", "--image");
        if (args.text("--dockerfile") != null) {
            if (args.text("--image") != null) {
                throw new CliException(2, "--image and --dockerfile contradict each other: name an image, or build one");
            }
            body.put("build", uploadBuild());
        } else if (args.text("--build-context") != null) {
            throw new CliException(2, "--build-context goes with --dockerfile");
        }
        putFlag(body, "jupyter", "--jupyter");
        String priority = args.flag("--preemptible") ? "preemptible" : args.text("--priority");
        if (args.flag("--preemptible") && args.text("--priority") != null && !"preemptible".equals(args.text("--priority"))) {
            throw new CliException(2, "--preemptible and --priority " + args.text("--priority") + " contradict each other");
        }
        if (priority != null) {
            body.put("priority_class", priority);
        }
        putText(body, "team", "--team");
        if (args.text("--start-at") != null) {
            body.put("start_at", startAt(args.text("--start-at"), java.time.Instant.now()).toString());
        }
        Map<String, String> env = new LinkedHashMap<>();
        if (args.text("--env-file") != null) {
            env.putAll(envFile(java.nio.file.Path.of(args.text("--env-file"))));
        }
        env.putAll(args.pairs("--env"));
        if (!env.isEmpty()) {
            body.put("env", env);
        }
        if (!args.pairs("--node-label").isEmpty()) {
            body.put("node_labels", args.pairs("--node-label"));
        }
        return body;
    }

    /** KEY=VALUE lines; blank lines and lines starting with # are skipped; "export " before a line is allowed. */
    static Map<String, String> envFile(java.nio.file.Path file) {
        List<String> lines;
        try {
            lines = java.nio.file.Files.readAllLines(file);
        } catch (java.io.IOException e) {
            throw new CliException(2, "--env-file: cannot read " + file + " (" + e.getClass().getSimpleName().replace("Exception", "") + ")");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("export ")) {
                line = line.substring(7).strip();
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new CliException(2, "--env-file " + file + ", line " + (i + 1) + ": not KEY=VALUE");
            }
            out.put(line.substring(0, eq).strip(), line.substring(eq + 1));
        }
        return out;
    }

    /** How long {@code --no-wait} waits for the scheduler's first answer. */
    static final Duration PLANNED_WITHIN = Duration.ofSeconds(3);

    /** Where a reservation stands, in a line: its place and estimate while it waits. */
    static String placeInWords(JsonNode j) {
        String status = j.get("status").asText();
        if (!"queued".equals(status)) {
            return status + ("preparing".equals(status) ? ": starting now (gpu-dev show to follow it)" : "");
        }
        if (!j.hasNonNull("queue_position")) {
            return "queued; the scheduler has not placed it yet (gpu-dev show " + j.get("job_id").asText().substring(0, 8) + ")";
        }
        return "queued, position " + j.get("queue_position").asInt()
                + (j.hasNonNull("estimated_start_at") ? ", expected to start ~" + Output.time(j.get("estimated_start_at").asText()) : "")
                + (j.hasNonNull("pending_reason") ? " (" + ClusterCommands.Queue.reason(j.get("pending_reason").asText()) + ")" : "");
    }

    private void putText(Map<String, Object> body, String field, String option) {
        if (args.text(option) != null) {
            body.put(field, args.text(option));
        }
    }

    private void putFlag(Map<String, Object> body, String field, String option) {
        if (args.flag(option)) {
            body.put(field, true);
        }
    }

    /**
     * What was not given is asked for on a terminal, after what is free now; never when stdin is not a
     * terminal (scripts): there the GPU type is required and the rest has defaults.
     */
    private void ask() {
        java.io.Console console = System.console();
        if (console == null || (gpuType != null && gpus != null && hours != null)) {
            if (gpuType == null) {
                throw new CliException(2, "--gpu-type is required (see `gpu-dev avail` for the types there are)");
            }
            gpus = gpus == null ? 1 : gpus;
            hours = hours == null ? BigDecimal.ONE : hours;
            return;
        }
        com.fasterxml.jackson.databind.JsonNode types = api().get("/v1/gpu/availability").get("gpu_types");
        java.util.List<java.util.List<String>> rows = new java.util.ArrayList<>();
        rows.add(java.util.List.of("TYPE", "AVAILABLE", "TOTAL", "MAX/NODE", "QUEUED GPUS"));
        String suggestion = null;
        String firstFree = null;
        for (com.fasterxml.jackson.databind.JsonNode t : types) {
            rows.add(java.util.List.of(t.get("gpu_type").asText(), t.get("available").asText(), t.get("total").asText(),
                    t.get("max_per_node").asText(), t.path("queued_gpus").asText("0")));
            suggestion = suggestion == null ? t.get("gpu_type").asText() : suggestion;
            firstFree = firstFree == null && t.get("available").asInt() > 0 ? t.get("gpu_type").asText() : firstFree;
        }
        suggestion = firstFree != null ? firstFree : suggestion;
        out().println("Available now:");
        table(rows);
        if (gpuType == null) {
            gpuType = answer(console, "GPU type", suggestion == null ? "h100" : suggestion);
        }
        if (gpus == null) {
            gpus = number(answer(console, "GPUs (1, 2, 4 or 8)", "1"), "GPUs").intValueExact();
        }
        if (hours == null) {
            hours = number(answer(console, "hours (0.0833 to 24)", "1"), "hours");
        }
    }

    private String answer(java.io.Console console, String what, String dflt) {
        out().flush();
        String line = console.readLine("%s [%s]: ", what, dflt);
        if (line == null) {
            throw new CliException(2, "no answer for " + what);
        }
        return line.isBlank() ? dflt : line.trim();
    }

    private static BigDecimal number(String s, String what) {
        try {
            return new BigDecimal(s);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new CliException(2, what + ": '" + s + "' is not a number");
        }
    }

    /** Follows a reservation until it is active or has ended, saying what changes (position, estimate, detail). */
    static JsonNode untilSettled(ApiClient api, String id, PrintWriter out) {
        String[] said = {null};
        long started = System.nanoTime();
        return Poll.until(() -> api.get("/v1/jobs/" + id),
                j -> !"queued".equals(j.get("status").asText()) && !"preparing".equals(j.get("status").asText()),
                // a tenth of a second for the first seconds (a free GPU is taken within moments), then gentler
                Duration.ofDays(3), j -> Duration.ofMillis(System.nanoTime() - started < 3_000_000_000L ? 100
                        : "queued".equals(j.get("status").asText()) ? 1000 : 250),
                j -> {
                    String line = j.get("status").asText() + (j.hasNonNull("queue_position") ? ", position " + j.get("queue_position").asInt() : "")
                            + (j.hasNonNull("estimated_start_at") ? ", starts ~" + Output.time(j.get("estimated_start_at").asText()) : "")
                            + (j.hasNonNull("pending_reason") ? " (" + j.get("pending_reason").asText() + ")" : "")
                            + (!j.hasNonNull("queue_position") && j.hasNonNull("current_detailed_status")
                            ? " — " + j.get("current_detailed_status").asText() : "");
                    if (out != null && !Objects.equals(line, said[0])) {
                        out.println("  " + line);
                        out.flush();
                        said[0] = line;
                    }
                });
    }

    /** An ISO time with its offset (a missing offset is UTC), or +N with m, h or d from now; whole seconds. */
    static java.time.Instant startAt(String raw, java.time.Instant now) {
        String v = raw.trim();
        var rel = java.util.regex.Pattern.compile("\\+(\\d{1,5})([mhd])").matcher(v);
        if (rel.matches()) {
            long n = Long.parseLong(rel.group(1));
            var d = switch (rel.group(2)) {
                case "m" -> java.time.Duration.ofMinutes(n);
                case "h" -> java.time.Duration.ofHours(n);
                default -> java.time.Duration.ofDays(n);
            };
            return now.plus(d).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        }
        try {
            return java.time.OffsetDateTime.parse(v).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            try {
                return java.time.LocalDateTime.parse(v).toInstant(java.time.ZoneOffset.UTC);
            } catch (java.time.format.DateTimeParseException e2) {
                throw new CliException(2, "--start-at must be a time like 2026-12-04T09:00Z or +2h, not '" + raw + "'");
            }
        }
    }
}
