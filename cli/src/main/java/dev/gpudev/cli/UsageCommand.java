package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code gpu-dev usage}: GPU-hours used lately, by type and by day, and where one stands in the queue's fair share. */
final class UsageCommand extends Base {
    static Cli.Command command() {
        return OutputFormat.option(Cli.Command.of("usage", "GPU-hours used by type and day, and your fair-share standing (what orders"
                        + " the queue: who used less lately goes first).")
                .text("--user", "USER", "whose usage (admins: anyone's; others: their own)")
                .text("--team", "TEAM", "a team's usage instead (its members and admins)")
                .text("--since", "DAYS", "how far back, like 30d or 72h (default 30d)")
                .action(new UsageCommand()));
    }

    @Override
    int call() {
        OutputFormat format = OutputFormat.of(args);
        StringBuilder q = new StringBuilder("/v1/usage?since=");
        String since = args.text("--since");
        q.append(Output.pathSegment(since == null ? "30d" : since));
        String user = args.text("--user");
        if (user != null) {
            q.append("&user=").append(Output.pathSegment(user));
        }
        String team = args.text("--team");
        if (team != null && user != null) {
            throw new CliException(2, "--user and --team contradict each other: one report at a time");
        }
        if (team != null) {
            q.append("&team=").append(Output.pathSegment(team));
        }
        JsonNode u = api().get(q.toString());
        if (format.json()) {
            printJson(u);
            return 0;
        }
        String who = u.has("team") ? "team " + u.get("team").asText() : u.get("user").asText();
        out().println(who + ": " + hours(u.get("gpu_hours").asDouble()) + " GPU-hours since "
                + Output.time(u.get("since").asText()));
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("TYPE", "GPU-HOURS"));
        u.get("gpu_hours_by_type").properties().forEach(e -> rows.add(List.of(e.getKey(), hours(e.getValue().asDouble()))));
        if (rows.size() > 1) {
            table(rows);
        }
        List<List<String>> days = new ArrayList<>();
        days.add(List.of("DAY", "GPU-HOURS"));
        for (JsonNode d : u.get("daily")) {
            double sum = 0;
            for (var e : d.get("gpu_hours").properties()) {
                sum += e.getValue().asDouble();
            }
            if (sum > 0) {
                days.add(List.of(d.get("date").asText(), hours(sum)));
            }
        }
        if (days.size() > 1) {
            out().println();
            table(days);
        }
        JsonNode fs = u.get("fair_share");
        out().println();
        if (u.has("guaranteed_gpus") && !u.get("guaranteed_gpus").isEmpty()) {
            List<String> g = new ArrayList<>();
            u.get("guaranteed_gpus").properties().forEach(e -> g.add(e.getValue().asInt() + " " + e.getKey()));
            out().println("Guaranteed: " + String.join(", ", g));
        }
        out().println("Fair share" + (fs.has("team") ? " (as a member of " + fs.get("team").asText() + ")" : "") + ": factor " + String.format(Locale.ROOT, "%.2f", fs.get("factor").asDouble()) + " ("
                + hours(fs.get("decayed_gpu_hours").asDouble()) + " GPU-hours counted with a half-life of "
                + fs.get("half_life_hours").asLong() / 24 + " days)");
        out().println(fs.get("explained").asText());
        return 0;
    }

    private static String hours(double h) {
        return String.format(Locale.ROOT, "%.1f", h);
    }
}
