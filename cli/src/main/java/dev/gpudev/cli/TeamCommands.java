package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code gpu-dev teams} (the teams one is in) and {@code gpu-dev admin team …} (admins manage them). */
final class TeamCommands {
    private TeamCommands() {
    }

    static Cli.Command list() {
        return OutputFormat.option(Cli.Command.of("teams", "The teams you are in (admins: all): share, caps, guaranteed GPUs, members.")
                .action(new List_()));
    }

    static Cli.Command admin() {
        return Cli.Command.of("team", "Manage teams: their share of the platform, guaranteed GPUs and members.")
                .sub(Cli.Command.of("create", "Make a team.").param("NAME", null)
                        .text("--share", "N", "its share of the platform (default 1)").action(new Create()))
                .sub(Cli.Command.of("delete", "Remove a team and its memberships (reservations keep its name).").param("NAME", null)
                        .action(new Delete()))
                .sub(Cli.Command.of("set", "Change a team's share and caps.").param("NAME", null)
                        .text("--share", "N", "its share of the platform (1 is every team's default)")
                        .integer("--max-waiting", "N", null, "reservations the team may have waiting (0: no cap)")
                        .integer("--max-waiting-gpu-hours", "N", null, "GPU-hours the team may have waiting (0: no cap)")
                        .action(new Set()))
                .sub(Cli.Command.of("guarantee", "Guarantee GPUs of a type to a team: idle ones are lent to others and taken back"
                                + " (their borrowers preempted after a notice) when the team asks; 0 removes the guarantee.")
                        .param("NAME", null).param("GPU_TYPE", null).param("GPUS", null).action(new Guarantee()))
                .sub(Cli.Command.of("add", "Add a member (--default: the team their reservations go to when they name none).")
                        .param("NAME", null).param("USERNAME", null).flag("--default", "make it the member's default team")
                        .action(new Add()))
                .sub(Cli.Command.of("remove", "Remove a member.").param("NAME", null).param("USERNAME", null).action(new Remove()));
    }

    static void show(Base b, JsonNode team) {
        List<String> guaranteed = new ArrayList<>();
        team.get("guaranteed_gpus").properties().forEach(e -> guaranteed.add(e.getValue().asInt() + " " + e.getKey()));
        List<String> members = new ArrayList<>();
        for (JsonNode m : team.get("members")) {
            members.add(m.get("user").asText() + (m.get("default").asBoolean() ? " (default)" : ""));
        }
        b.out().println(team.get("name").asText() + ": share " + number(team.get("share").asDouble())
                + ", guaranteed " + (guaranteed.isEmpty() ? "none" : String.join(", ", guaranteed))
                + ", waiting cap " + cap(team.get("max_waiting").asInt(), "reservations") + " / "
                + cap(team.get("max_waiting_gpu_hours").asInt(), "GPU-hours"));
        b.out().println("  members: " + (members.isEmpty() ? "none" : String.join(", ", members)));
        if (team.hasNonNull("warning")) {
            b.err().println("warning: " + team.get("warning").asText());
        }
    }

    private static String cap(int n, String what) {
        return n == 0 ? "none" : n + " " + what;
    }

    private static String number(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    static double share(String raw) {
        try {
            double v = Double.parseDouble(raw);
            if (v >= 0 && v <= 1000) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new CliException(2, "--share must be a number from 0 to 1000, not '" + raw + "'");
    }

    static final class List_ extends Base {
        @Override
        int call() {
            JsonNode res = api().get("/v1/teams");
            if (OutputFormat.of(args).json()) {
                printJson(res);
                return 0;
            }
            if (res.get("teams").isEmpty()) {
                out().println("You are in no team: your reservations are charged to you alone.");
                return 0;
            }
            for (JsonNode t : res.get("teams")) {
                show(this, t);
            }
            return 0;
        }
    }

    static final class Create extends Base {
        @Override
        int call() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", args.param(0));
            if (args.text("--share") != null) {
                body.put("share", share(args.text("--share")));
            }
            show(this, api().post("/v1/admin/teams", body));
            return 0;
        }
    }

    static final class Delete extends Base {
        @Override
        int call() {
            api().send(new ApiClient.Request("DELETE", "/v1/admin/teams/" + Output.pathSegment(args.param(0))));
            out().println("team " + args.param(0) + " removed");
            return 0;
        }
    }

    static final class Set extends Base {
        @Override
        int call() {
            Map<String, Object> body = new LinkedHashMap<>();
            if (args.text("--share") != null) {
                body.put("share", share(args.text("--share")));
            }
            if (args.integer("--max-waiting") != null) {
                body.put("max_waiting", args.integer("--max-waiting"));
            }
            if (args.integer("--max-waiting-gpu-hours") != null) {
                body.put("max_waiting_gpu_hours", args.integer("--max-waiting-gpu-hours"));
            }
            if (body.isEmpty()) {
                throw new CliException(2, "say what to change: --share, --max-waiting or --max-waiting-gpu-hours");
            }
            show(this, api().post("/v1/admin/teams/" + Output.pathSegment(args.param(0)), body));
            return 0;
        }
    }

    static final class Guarantee extends Base {
        @Override
        int call() {
            int gpus;
            try {
                gpus = Integer.parseInt(args.param(2));
            } catch (NumberFormatException e) {
                throw new CliException(2, "GPUS must be a whole number (0 removes the guarantee), not '" + args.param(2) + "'");
            }
            show(this, api().post("/v1/admin/teams/" + Output.pathSegment(args.param(0)),
                    Map.of("guaranteed_gpus", Map.of(args.param(1), gpus))));
            return 0;
        }
    }

    static final class Add extends Base {
        @Override
        int call() {
            show(this, api().post("/v1/admin/teams/" + Output.pathSegment(args.param(0)) + "/members",
                    Map.of("user", args.param(1), "default", args.flag("--default"))));
            return 0;
        }
    }

    static final class Remove extends Base {
        @Override
        int call() {
            show(this, api().send(new ApiClient.Request("DELETE", "/v1/admin/teams/" + Output.pathSegment(args.param(0))
                    + "/members/" + Output.pathSegment(args.param(1)))));
            return 0;
        }
    }
}
