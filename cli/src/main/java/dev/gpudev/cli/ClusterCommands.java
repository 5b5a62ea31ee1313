package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.List;

/** The cluster at a glance: availability per GPU type, and status. */
final class ClusterCommands {
    private ClusterCommands() {
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
            rows.add(List.of("TYPE", "TOTAL", "IN USE", "AVAILABLE", "QUEUED GPUS", "MAX/NODE"));
            for (JsonNode t : types) {
                rows.add(List.of(t.get("gpu_type").asText() + (t.path("simulated").asBoolean() ? " (simulated)" : ""),
                        t.get("total").asText(), t.get("in_use").asText(), t.get("available").asText(),
                        t.path("queued_gpus").asText("0") + " (" + t.get("queued").asInt() + " waiting)", t.get("max_per_node").asText()));
            }
            table(rows);
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
            rows.add(List.of("TYPE", "NODES", "GPUS", "IN USE", "QUEUED GPUS"));
            s.get("by_gpu_type").properties().forEach(e -> rows.add(List.of(e.getKey(), e.getValue().get("nodes").asText(),
                    e.getValue().get("total_gpus").asText(), e.getValue().get("in_use").asText(),
                    e.getValue().path("queued_gpus").asText("0") + " (" + e.getValue().get("queued").asInt() + " waiting)")));
            table(rows);
            return 0;
        }
    }
}
