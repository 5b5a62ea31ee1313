package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

final class AdminCommands {
    private AdminCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("admin", "Administration.")
                .sub(Cli.Command.of("invite", "Make a one-time login token for a new user.").param("USERNAME", null).action(new Invite()))
                .sub(Cli.Command.of("disable", "Disable a user: their keys, dashboard sessions and SSH stop at once, their reservations end.")
                        .param("USERNAME", null).action(new SetActive(false)))
                .sub(Cli.Command.of("enable", "Enable a disabled user again (their keys work again).")
                        .param("USERNAME", null).action(new SetActive(true)))
                .sub(Cli.Command.of("share", "Set a user's fair share: 1 is everyone's default; 2 lets them use twice the GPU time"
                        + " before their queue priority falls as far; 0 puts them behind everyone of the same wait.")
                        .param("USERNAME", null).param("SHARE", null).action(new Share()))
                .sub(TeamCommands.admin());
    }

    static final class SetActive extends Base {
        private final boolean active;

        SetActive(boolean active) {
            this.active = active;
        }

        @Override
        int call() {
            String username = args.param(0);
            JsonNode res = api().post("/v1/admin/users/" + username + (active ? "/enable" : "/disable"), Map.of());
            if (active) {
                out().println(username + " is enabled again");
            } else {
                int n = res.get("reservations_cancelled").asInt();
                out().println(username + " is disabled: keys and sessions stopped, " + n + " reservation" + (n == 1 ? "" : "s")
                        + " cancelled");
            }
            return 0;
        }
    }

    static final class Share extends Base {
        @Override
        int call() {
            String username = args.param(0);
            double share;
            try {
                share = Double.parseDouble(args.param(1));
            } catch (NumberFormatException e) {
                throw new CliException(2, "SHARE must be a number from 0 to 1000, not '" + args.param(1) + "'");
            }
            JsonNode res = api().post("/v1/admin/users/" + Output.pathSegment(username) + "/share", Map.of("share", share));
            out().println(username + "'s fair share is " + res.get("share").asText());
            return 0;
        }
    }

    static final class Invite extends Base {
        @Override
        int call() {
            String username = args.param(0);
            JsonNode res = api().post("/v1/admin/invites", Map.of("username", username));
            out().println(res.get("token").asText());
            err().println("Give this to " + username + "; they run: gpu-dev login --token TOKEN"
                    + " (valid until " + res.get("expires_at").asText() + ", once)");
            return 0;
        }
    }
}
