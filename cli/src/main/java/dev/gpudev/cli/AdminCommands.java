package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

final class AdminCommands {
    private AdminCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("admin", "Administration.")
                .sub(Cli.Command.of("invite", "Make a one-time login token for a new user.").param("USERNAME", null).action(new Invite()));
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
