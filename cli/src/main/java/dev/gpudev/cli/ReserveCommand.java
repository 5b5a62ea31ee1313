package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

@Command(name = "reserve", mixinStandardHelpOptions = true, description = "Reserve GPUs.")
final class ReserveCommand extends Base {
    @Option(names = "--gpu-type", required = true, description = "h100, a100, ... (see `gpu-dev avail`)")
    String gpuType;

    @Option(names = "--gpus", defaultValue = "1", description = "GPUs: 1, 2, 4 or 8 (default ${DEFAULT-VALUE})")
    int gpus;

    @Option(names = "--hours", defaultValue = "1", description = "duration in hours, fractional (5 minutes to 24 h; default ${DEFAULT-VALUE})")
    BigDecimal hours;

    @Option(names = "--name", description = "a name to refer to it by (lowercase letters, digits, '.', '_', '-')")
    String name;

    @Option(names = "--distributed", description = "whole nodes (--gpus a multiple of the node size), gang scheduled, with the rendezvous variables")
    boolean distributed;

    @Option(names = "--keep-when-idle", description = "opt out of idle detection (no idle warning or release)")
    boolean keepWhenIdle;

    @Option(names = "--disk", description = "a named persistent disk as home (created on first use)")
    String disk;

    @Option(names = "--no-persist", description = "a scratch home, deleted when the reservation ends")
    boolean noPersist;

    @Option(names = "--image", description = "container image (Kubernetes backend)")
    String image;

    @Option(names = "--jupyter", description = "start Jupyter Lab in the environment")
    boolean jupyter;

    @Option(names = "--node-label", description = "KEY=VALUE the node must have (repeatable)")
    Map<String, String> nodeLabels;

    @Option(names = "--wait", negatable = true, description = "follow it until it is active (default: on a terminal)")
    Boolean wait;

    @Mixin
    OutputFormat format;

    @Override
    public Integer call() {
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
        if (jupyter) {
            body.put("jupyter", true);
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
            out().println("Active on GPUs " + last.get("gpus") + " until " + last.get("expires_at").asText());
            out().println("Connect with:  gpu-dev connect " + ref);
        }
        return 0;
    }

    /** Follows a reservation until it is active or has ended, saying what changes (position, estimate, detail). */
    static JsonNode untilSettled(ApiClient api, String id, PrintWriter out) {
        String[] said = {null};
        return Poll.until(() -> api.get("/v1/jobs/" + id),
                j -> !"queued".equals(j.get("status").asText()) && !"preparing".equals(j.get("status").asText()),
                Duration.ofDays(3), j -> Duration.ofMillis("queued".equals(j.get("status").asText()) ? 1000 : 250),
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
}
