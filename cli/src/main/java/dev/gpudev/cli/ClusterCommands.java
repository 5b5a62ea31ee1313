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
            for (JsonNode t : types) {
                if (t.path("on_demand").asInt() > 0) { // an elastic pool: nodes started for those who wait
                    out().println(t.get("gpu_type").asText() + ": up to " + t.get("on_demand").asInt() + " more GPUs on demand (a node starts"
                            + " for a reservation that waits; minutes)");
                }
            }
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

    /** Who holds the GPUs until when, and who waits, for every user: the dashboard's cluster page as text. */
    static final class Queue extends Base {
        static Cli.Command command() {
            return OutputFormat.option(Cli.Command.of("queue", "Who holds the GPUs, until when, and who waits, per GPU type.")
                    .text("--gpu-type", "TYPE", "only this type").action(new Queue()));
        }

        @Override
        int call() {
            OutputFormat format = OutputFormat.of(args);
            String only = args.text("--gpu-type");
            JsonNode o = api().get("/v1/cluster/occupancy");
            if (format.json()) {
                printJson(o);
                return 0;
            }
            boolean first = true;
            java.time.Instant now = o.hasNonNull("generated_at") ? java.time.Instant.parse(o.get("generated_at").asText()) : java.time.Instant.now();
            for (JsonNode t : o.get("gpu_types")) {
                String type = t.get("gpu_type").asText();
                if (only != null && !only.equalsIgnoreCase(type)) {
                    continue;
                }
                if (!first) {
                    out().println();
                }
                first = false;
                out().println(type.toUpperCase(java.util.Locale.ROOT) + ": " + t.get("in_use").asInt() + " of " + t.get("total").asInt()
                        + " GPUs in use, " + t.get("available").asInt() + " available, " + t.get("queued").asInt() + " waiting");
                List<List<String>> held = new ArrayList<>();
                held.add(List.of("NODE", "GPUS", "USER", "NAME", "UNTIL"));
                for (JsonNode n : t.get("nodes")) {
                    // Consecutive GPUs of one reservation read as one row: "0-3".
                    JsonNode last = null;
                    int from = -1;
                    int to = -1;
                    for (JsonNode g : n.get("gpus")) {
                        JsonNode h = g.get("holder");
                        boolean same = last != null && !h.isNull() && !last.isNull() && h.equals(last);
                        if (!same && last != null && !last.isNull()) {
                            held.add(holderRow(n.get("name").asText(), from, to, last, now));
                        }
                        if (!same) {
                            from = g.get("index").asInt();
                        }
                        to = g.get("index").asInt();
                        last = h;
                    }
                    if (last != null && !last.isNull()) {
                        held.add(holderRow(n.get("name").asText(), from, to, last, now));
                    }
                }
                if (held.size() > 1) {
                    table(held);
                }
                if (t.get("queue").isEmpty()) {
                    out().println("Nobody is waiting.");
                    continue;
                }
                List<List<String>> queue = new ArrayList<>();
                queue.add(List.of("#", "USER", "NAME", "GPUS", "ESTIMATED START", "WHY WAITING"));
                for (JsonNode q : t.get("queue")) {
                    queue.add(List.of(q.path("position").asText("-"), q.get("user").asText() + (q.get("mine").asBoolean() ? " (you)"
                            : q.path("shared").asBoolean() ? " (shared)" : ""),
                            q.path("name").asText("-"), q.get("gpu_count").asText(),
                            q.hasNonNull("estimated_start_at") ? Output.brief(q.get("estimated_start_at").asText(), now) : "unknown",
                            shortReason(q.path("pending_reason").asText("-"))));
                }
                table(queue);
                int more = t.get("queued").asInt() - t.get("queue").size();
                if (more > 0) {
                    out().println("... and " + more + " more waiting.");
                }
            }
            return 0;
        }

        /** The scheduler's reason codes in words. */
        static String reason(String code) {
            return switch (code) {
                case "WAITING_FOR_CAPACITY" -> "waiting for GPUs to free up";
                case "USER_GPU_LIMIT" -> "its owner holds their GPU limit";
                case "WAITING_FOR_DISK" -> "its disk is in use by another of its owner's reservations";
                case "BOOKED" -> "booked ahead: its GPUs are kept for its window";
                case "NO_CAPACITY_OF_TYPE" -> "no node of this type can hold it";
                default -> code;
            };
        }

        /** The same, short enough for a table's last column. */
        static String shortReason(String code) {
            return switch (code) {
                case "WAITING_FOR_CAPACITY" -> "GPUs busy";
                case "USER_GPU_LIMIT" -> "owner at GPU limit";
                case "WAITING_FOR_DISK" -> "disk in use";
                case "BOOKED" -> "booked";
                case "NO_CAPACITY_OF_TYPE" -> "never fits";
                default -> code;
            };
        }

        private static List<String> holderRow(String node, int from, int to, JsonNode h, java.time.Instant now) {
            String until = "preparing".equals(h.path("status").asText()) ? "starting"
                    : h.hasNonNull("expires_at") ? Output.until(h.get("expires_at").asText(), now) : "-";
            return List.of(node, from == to ? Integer.toString(from) : from + "-" + to,
                    h.get("user").asText() + (h.get("mine").asBoolean() ? " (you)" : h.path("shared").asBoolean() ? " (shared)" : ""),
                    h.path("name").asText("-"), until);
        }
    }
}
