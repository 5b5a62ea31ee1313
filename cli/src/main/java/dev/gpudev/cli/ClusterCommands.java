package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** The cluster at a glance: availability per GPU type, and status. */
final class ClusterCommands {
    private ClusterCommands() {
    }

    static final class Avail extends Base implements Runnable {
        static Cli.Command command() {
            return Watch.options(OutputFormat.option(Cli.Command.of("avail",
                    "GPUs per type: total, in use, available, GPUs asked for by waiting reservations, max per node.").action(new Avail())));
        }

        private OutputFormat format;

        @Override
        int call() throws InterruptedException {
            format = OutputFormat.of(args);
            return Watch.of(args).repeat(out(), this);
        }

        /** One listing (again and again with --watch). */
        @Override
        public void run() {
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

    static final class Status extends Base {
        static Cli.Command command() {
            return OutputFormat.option(Cli.Command.of("status", "The cluster at a glance: GPUs and reservations.").action(new Status()));
        }

        @Override
        int call() {
            OutputFormat format = OutputFormat.of(args);
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
