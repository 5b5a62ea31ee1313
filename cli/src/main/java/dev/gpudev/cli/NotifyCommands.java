package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code gpu-dev notify add|list|remove}: webhooks that hear when a reservation starts, nears its end, ends or is preempted. */
final class NotifyCommands {
    private NotifyCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("notify", "Webhooks told when your reservations start, are 30 and 5 minutes from their end, end (and why)"
                        + " or are preempted (Slack's incoming webhooks, or plain JSON).")
                .sub(Cli.Command.of("add", "Register a webhook URL (kept secret: shown masked from now on).").param("URL", null)
                        .text("--format", "FORMAT", "slack ({\"text\": …}) or json (the event and the reservation); default: slack for"
                                + " hooks.slack.com, else json")
                        .text("--team", "TEAM", "the team's webhook: told of every reservation charged to the team (members and admins)")
                        .action(new Add()))
                .sub(OutputFormat.option(Cli.Command.of("list", "Your webhooks and your teams' (masked).")
                        .text("--team", "TEAM", "only this team's").action(new ListHooks())))
                .sub(Cli.Command.of("remove", "Remove one of your webhooks, or one of your team's.").param("ID", null).action(new Remove()));
    }

    static final class Add extends Base {
        @Override
        int call() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("url", args.param(0));
            if (args.text("--format") != null) {
                body.put("format", args.text("--format"));
            }
            if (args.text("--team") != null) {
                body.put("team", args.text("--team"));
            }
            JsonNode h = api().post("/v1/notifications", body);
            out().println("Webhook " + h.get("id").asText() + " (" + h.get("format").asText() + ") registered"
                    + (h.hasNonNull("team") ? " for team " + h.get("team").asText() : "") + ": " + h.get("url").asText());
            return 0;
        }
    }

    static final class ListHooks extends Base {
        @Override
        int call() {
            String team = args.text("--team");
            JsonNode res = api().get("/v1/notifications" + (team == null ? "" : "?team=" + java.net.URLEncoder.encode(team,
                    java.nio.charset.StandardCharsets.UTF_8)));
            if (OutputFormat.of(args).json()) {
                printJson(res);
                return 0;
            }
            if (res.get("notifications").isEmpty()) {
                out().println("No webhooks: gpu-dev notify add URL");
                return 0;
            }
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("ID", "FOR", "FORMAT", "URL"));
            for (JsonNode h : res.get("notifications")) {
                rows.add(List.of(h.get("id").asText(), h.hasNonNull("team") ? "team " + h.get("team").asText() : "you",
                        h.get("format").asText(), h.get("url").asText()));
            }
            table(rows);
            return 0;
        }
    }

    static final class Remove extends Base {
        @Override
        int call() {
            api().send(new ApiClient.Request("DELETE", "/v1/notifications/" + Output.pathSegment(args.param(0))));
            out().println("Webhook " + args.param(0) + " removed");
            return 0;
        }
    }
}
