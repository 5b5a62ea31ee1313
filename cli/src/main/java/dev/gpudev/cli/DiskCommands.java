package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

final class DiskCommands {
    private DiskCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("disk", "Your named persistent disks (reserve --disk NAME).").sub(
                OutputFormat.option(Cli.Command.of("list", "Your disks and what uses them.").action(new ListDisks())),
                Cli.Command.of("create", "Create a named disk.").param("NAME", null).action(new Create()),
                Cli.Command.of("delete", "Delete a disk and everything on it.").param("NAME", null).action(new Delete()),
                Cli.Command.of("rename", "Rename a disk (not while a reservation wants it).").param("NAME", null).param("NEW_NAME", null)
                        .action(new Rename()),
                OutputFormat.option(Cli.Command.of("list-content", "The files on a disk (the first 1,000, shallowest first) and its total size.")
                        .param("NAME", null).action(new ListContent())));
    }

    /** Follows a disk operation (the processor carries it out) until it is done; a failure is the user's to read. */
    static JsonNode follow(ApiClient api, JsonNode op) {
        String id = op.path("operation_id").asText();
        JsonNode last = op.path("status").asText().equals("pending")
                ? Poll.until(() -> api.get("/v1/disk-operations/" + id), o -> !o.path("status").asText().equals("pending"),
                Duration.ofMinutes(1), Duration.ofMillis(200)) : op;
        if (last.path("status").asText().equals("pending")) {
            throw new CliException(1, "the disk operation is still pending after a minute (is the server's processor running?); "
                    + "see it later with: curl .../v1/disk-operations/" + id);
        }
        if (last.path("status").asText().equals("failed")) {
            throw new CliException(2, last.path("error").asText("the disk operation failed"));
        }
        return last;
    }

    static final class Rename extends Base {
        @Override
        int call() {
            String name = args.param(0);
            String newName = args.param(1);
            ApiClient api = api();
            follow(api, api.post("/v1/disks/" + Output.pathSegment(name) + "/rename", Map.of("new_name", newName)));
            out().println("Disk " + name + " is now " + newName);
            return 0;
        }
    }

    static final class ListContent extends Base {
        @Override
        int call() {
            String name = args.param(0);
            OutputFormat format = OutputFormat.of(args);
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
            table(rows);
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
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static final class ListDisks extends Base {
        @Override
        int call() {
            OutputFormat format = OutputFormat.of(args);
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
            table(rows);
            return 0;
        }
    }

    static final class Create extends Base {
        @Override
        int call() {
            String name = args.param(0);
            api().post("/v1/disks", Map.of("name", name));
            out().println("Disk " + name + " created; use it with: gpu-dev reserve ... --disk " + name);
            return 0;
        }
    }

    static final class Delete extends Base {
        @Override
        int call() {
            String name = args.param(0);
            api().send(new ApiClient.Request("DELETE", "/v1/disks/" + Output.pathSegment(name)));
            out().println("Disk " + name + " deleted");
            return 0;
        }
    }
}
