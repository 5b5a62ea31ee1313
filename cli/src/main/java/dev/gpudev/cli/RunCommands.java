package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Batch runs: {@code gpu-dev run [reserve options] [--workdir DIR] [--keep] [--detach] -- CMD…} and
 * {@code gpu-dev logs NAME [-f]}. The command runs detached in the environment (the CLI may go); while
 * the environment is there its log is read over SSH through the proxy, after that the platform gives the
 * end of it it kept.
 */
final class RunCommands {
    private RunCommands() {
    }

    /** Where a run's files are in the home (the same as the platform's BatchRun.DIR). */
    static final String RUNS = ".gpudev/runs";

    static final class Run extends ReserveCommand {
        static Cli.Command command() {
            return ReserveCommand.options(Cli.Command.of("run", "Run a command on GPUs and walk away: reserves, copies --workdir,"
                            + " runs CMD detached, ends when it ends. run [options] -- CMD..."))
                    .rest("CMD", "the command and its arguments")
                    .text("--workdir", "DIR", "its files (.gitignore honoured; only what changed) go to ~/BASENAME in the home"
                            + " and run CMD there")
                    .flag("--keep", "keep the reservation until its hours are up after CMD ends (default: it ends with CMD)")
                    .flag("--detach", "return once CMD started (at once when there is no --workdir) instead of following its output")
                    .commandFollows()
                    .action(new Run());
        }

        @Override
        int call() throws Exception {
            List<String> command = args.rest(0);
            if (command.isEmpty()) {
                throw new CliException(2, "run needs a command: gpu-dev run --gpu-type h100 -- python train.py");
            }
            Path dir = null;
            List<String> files = List.of();
            if (args.text("--workdir") != null) {
                dir = Path.of(args.text("--workdir")).toAbsolutePath().normalize();
                if (!Files.isDirectory(dir)) {
                    throw new CliException(2, "--workdir " + args.text("--workdir") + " is not a folder");
                }
                try { // what is copied is known before anything is reserved: a folder that cannot be read holds no GPU
                    files = Workdir.files(dir);
                } catch (IOException | RuntimeException e) {
                    throw new CliException(2, "--workdir " + args.text("--workdir") + " cannot be read: " + e.getMessage());
                }
            }
            Map<String, Object> body = request();
            Map<String, Object> run = new java.util.LinkedHashMap<>();
            run.put("command", command);
            if (dir != null) {
                run.put("workdir", Workdir.remoteName(dir));
            }
            run.put("keep", args.flag("--keep"));
            body.put("run", run);
            ApiClient api = api();
            JsonNode job = api.post("/v1/jobs/submit", body);
            String id = job.get("job_id").asText();
            String ref = job.hasNonNull("name") ? job.get("name").asText() : id.substring(0, 8);
            boolean detach = args.flag("--detach");
            if (detach && dir == null) {
                out().println("Submitted batch run " + ref + " (" + id + "); follow it with: gpu-dev logs " + ref + " -f");
                return 0;
            }
            err().println("Submitted " + ref + "; waiting for it to start…");
            JsonNode active = ReserveCommand.untilSettled(api, id, err());
            if (!"active".equals(active.get("status").asText())) {
                return ended(this, api, id, ref);
            }
            if (dir != null) {
                int nodes = active.hasNonNull("nodes") ? active.get("nodes").size() : 1;
                try {
                    // every node runs CMD, each in its own home: every copy first, then the word to start, node 0 last
                    // (node 0's end ends them all: a node started early must not end the others before they have their files)
                    for (int node = 0; node < nodes; node++) {
                        copy(api, active, node, dir, files, nodes == 1);
                    }
                    for (int node = nodes - 1; nodes > 1 && node >= 0; node--) {
                        start(api, active, node);
                    }
                } catch (IOException | RuntimeException e) {
                    if (Poll.ended(api.get("/v1/jobs/" + id))) {
                        return ended(this, api, id, ref); // it ended meanwhile (its time, a cancel): say how
                    }
                    // the command would wait for its folder while the GPUs idle: the reservation ends now
                    api.post("/v1/jobs/" + id + "/cancel", null);
                    String why = e instanceof CliException ce ? ce.getMessage() : e.getMessage();
                    throw new CliException(1, "copying " + dir + " failed (" + why + "); reservation " + ref + " is cancelled");
                }
            }
            if (detach) {
                out().println("Running " + ref + "; follow it with: gpu-dev logs " + ref + " -f");
                return 0;
            }
            err().println("Running; its output follows (Ctrl-C stops following, not the command: gpu-dev logs " + ref + " -f)");
            follow(this, api, active, 0, true);
            return ended(this, api, id, ref);
        }

        /** Says a node's command may start: its folder is there. */
        private void start(ApiClient api, JsonNode job, int node) throws IOException, InterruptedException {
            int code = new ProcessBuilder(concat(ssh(this, api, job, node), go(job, node))).inheritIO().start().waitFor();
            if (code != 0) {
                throw new CliException(1, "ssh exited " + code + " starting node " + node);
            }
        }

        private static String go(JsonNode job, int node) {
            return "mkdir -p ~/" + RUNS + " && : > ~/" + RUNS + "/" + environment(job) + (node == 0 ? "" : "-n" + node) + ".go";
        }

        /** Copies what changed of the folder to ~/WORKDIR of a node over the proxy, then (start) says the command may start there. */
        private void copy(ApiClient api, JsonNode job, int node, Path dir, List<String> files, boolean start)
                throws IOException, InterruptedException {
            String remote = Workdir.remoteName(dir);
            List<String> ssh = ssh(this, api, job, node);
            long started = System.nanoTime();
            Process listing = new ProcessBuilder(concat(ssh, "mkdir -p ~/" + remote + " && cd ~/" + remote
                    + " && find . -type f -printf '%P\\t%s\\t%T@\\n'")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String there = new String(listing.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (listing.waitFor() != 0) {
                throw new CliException(1, "could not look at ~/" + remote + " in the environment (ssh exited " + listing.exitValue() + ")");
            }
            List<String> changed = Workdir.changed(dir, files, Workdir.listing(there));
            String go = start ? go(job, node) : "true";
            int code;
            if (changed.isEmpty()) {
                code = new ProcessBuilder(concat(ssh, go)).inheritIO().start().waitFor();
            } else {
                Path list = Files.createTempFile("gpu-dev-files", ".lst");
                try {
                    Files.write(list, String.join("\0", changed).concat("\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    var tar = new ProcessBuilder("tar", "-C", dir.toString(), "-cf", "-", "--null", "-T", list.toString())
                            .redirectError(ProcessBuilder.Redirect.INHERIT);
                    var receive = new ProcessBuilder(concat(ssh, "tar -xf - -C ~/" + remote + " && " + go))
                            .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
                    List<Process> pipeline = ProcessBuilder.startPipeline(List.of(tar, receive));
                    code = pipeline.getLast().waitFor();
                    if (pipeline.getFirst().waitFor() != 0) {
                        code = pipeline.getFirst().exitValue();
                    }
                } finally {
                    Files.deleteIfExists(list);
                }
            }
            if (code != 0) {
                throw new CliException(1, "tar or ssh exited " + code);
            }
            long bytes = 0;
            for (String f : changed) {
                bytes += Files.size(dir.resolve(f));
            }
            err().printf("Copied %d of %d files (%s) to ~/%s%s in %.1f s%n", changed.size(), files.size(), Workdir.size(bytes), remote,
                    node == 0 ? "" : " on node " + node, (System.nanoTime() - started) / 1e9);
        }
    }

    static final class Logs extends Base {
        static Cli.Command command() {
            return Cli.Command.of("logs", "Show a batch run's output (gpu-dev run): while it runs, and after it ended.")
                    .param("ID|NAME", null)
                    .flag("-f", "--follow", "follow it until the command ends")
                    .flag("--build", "its image's build instead (reserve --dockerfile): how it stands, the failing step, the log's end")
                    .integer("--node", "N", 0, "which node of a distributed run (default 0; its environment must still be there)")
                    .action(new Logs());
        }

        @Override
        int call() throws Exception {
            String ref = args.param(0);
            ApiClient api = api();
            JsonNode job = api.get("/v1/jobs/" + Output.pathSegment(ref));
            if (args.flag("--build")) {
                JsonNode build = api.get("/v1/jobs/" + job.get("job_id").asText() + "/logs?build=true");
                // the build's output is the user's RUN's: no escapes ever drive the terminal it is printed on
                String tail = dev.gpudev.core.TerminalText.lines(build.path("tail").asText(""));
                out().print(tail.endsWith("\n") || tail.isEmpty() ? tail : tail + "\n");
                out().flush();
                String state = build.path("state").asText();
                err().println("(build " + build.path("build").asText().substring(0, 19) + ": " + state
                        + (build.hasNonNull("failure") ? ": " + dev.gpudev.core.TerminalText.line(build.get("failure").asText()) : "")
                        + (build.hasNonNull("image") ? ": " + build.get("image").asText() : "") + ")");
                return "failed".equals(state) ? 1 : 0;
            }
            if (!job.hasNonNull("run")) {
                throw new CliException(2, "reservation " + ref + " is not a batch run (gpu-dev run): it has no output of its own;"
                        + " connect to it with gpu-dev connect " + ref);
            }
            String status = job.get("status").asText();
            boolean follow = args.flag("--follow");
            if (("queued".equals(status) || "preparing".equals(status)) && follow) {
                err().println("Waiting for it to start…");
                job = ReserveCommand.untilSettled(api, job.get("job_id").asText(), err());
                status = job.get("status").asText();
            }
            if ("active".equals(status)) {
                follow(this, api, job, args.integer("--node"), follow && job.path("run").path("ended_at").isNull());
            } else if ("queued".equals(status) || "preparing".equals(status)) {
                err().println("reservation " + ref + " is " + status + ": its command has not started (gpu-dev logs " + ref + " -f waits for it)");
                return 0;
            } else {
                JsonNode kept = api.get("/v1/jobs/" + job.get("job_id").asText() + "/logs");
                if (kept.hasNonNull("tail")) {
                    String tail = kept.get("tail").asText();
                    if (System.console() != null) { // a terminal: the output's escapes never drive it (titles, clipboard)
                        tail = tail.replaceAll("[\\x00-\\x08\\x0b-\\x1f\\x7f\\x9b]", "");
                    }
                    out().print(tail);
                    out().flush();
                    if (tail.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 60 * 1024) {
                        err().println("(its last 64 KiB; the whole log is in its home at " + kept.get("log_path").asText() + ")");
                    }
                } else {
                    err().println("(no output kept: it " + kept.get("run_state").asText() + "; whatever it wrote is in its home at "
                            + kept.get("log_path").asText() + ")");
                }
            }
            if (!follow) {
                return 0;
            }
            return ended(this, api, job.get("job_id").asText(), ref);
        }
    }

    /** Prints the log of a node's run over SSH: all of it, then (follow) what it writes until the command ends. */
    static void follow(Base b, ApiClient api, JsonNode job, int node, boolean follow) throws IOException, InterruptedException {
        int nodes = job.hasNonNull("nodes") ? job.get("nodes").size() : 1;
        if (node < 0 || node >= nodes) {
            throw new CliException(2, "it has " + nodes + " node(s): --node 0" + (nodes > 1 ? " to " + (nodes - 1) : ""));
        }
        String env = environment(job) + (node == 0 ? "" : "-n" + node);
        String f = "\"$HOME/" + RUNS + "/" + env + ".log\"";
        String e = "\"$HOME/" + RUNS + "/" + env + ".exit\"";
        String script = follow
                ? "while [ ! -e " + f + " ] && [ ! -e " + e + " ]; do sleep 0.1; done; tail -c +1 -f " + f + " 2>/dev/null & t=$!;"
                + " while [ ! -e " + e + " ]; do sleep 0.2; done; sleep 0.3; kill $t 2>/dev/null; wait $t 2>/dev/null; exit 0"
                : "cat " + f + " 2>/dev/null; exit 0";
        int code = new ProcessBuilder(concat(ssh(b, api, job, node), script)).inheritIO().start().waitFor();
        if (code != 0) {
            // the environment may be gone because the command ended (its end is then known); else say it
            JsonNode now = api.get("/v1/jobs/" + job.get("job_id").asText());
            if (!now.hasNonNull("exit_code") && !Poll.ended(now)) {
                throw new CliException(1, "could not read its output over SSH (ssh exited " + code + "); the command goes on:"
                        + " gpu-dev logs " + job.get("job_id").asText().substring(0, 8) + " -f");
            }
        }
    }

    /** How the run ended, in a line on stderr, as the exit code (a run the platform ended otherwise: 1). */
    static int ended(Base b, ApiClient api, String id, String ref) {
        JsonNode j = Poll.until(() -> api.get("/v1/jobs/" + id),
                x -> x.hasNonNull("exit_code") || Poll.ended(x), Duration.ofSeconds(60), Duration.ofMillis(200));
        b.err().println(ref + ": " + j.path("run").path("state").asText(j.get("status").asText())
                + (j.hasNonNull("exit_code") ? "" : j.hasNonNull("failure_reason") ? " — " + j.get("failure_reason").asText() : ""));
        if (j.hasNonNull("exit_code")) {
            return Math.min(255, Math.max(0, j.get("exit_code").asInt()));
        }
        return 1;
    }

    /** The environment's name (its files in the home are named after it). */
    static String environment(JsonNode job) {
        return job.get("connection").get("host_key_alias").asText();
    }

    /** ssh to a node of an active reservation, through the proxy, without a terminal. */
    private static List<String> ssh(Base b, ApiClient api, JsonNode job, int node) {
        ObjectNode creds = b.session().credentials();
        Path config = SshConfig.write(b.settings, creds, JobCommands.activeWith(api, job));
        return List.of("ssh", "-F", config.toString(), "-T", "-o", "LogLevel=ERROR", SshConfig.hostAlias(job, node));
    }

    private static List<String> concat(List<String> a, String last) {
        List<String> out = new ArrayList<>(a);
        out.add(last);
        return out;
    }
}
