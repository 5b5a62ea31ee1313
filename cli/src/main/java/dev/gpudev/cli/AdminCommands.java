package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.Map;

@Command(name = "admin", mixinStandardHelpOptions = true, description = "Administration.", subcommands = AdminCommands.Invite.class)
final class AdminCommands {
    @Command(name = "invite", mixinStandardHelpOptions = true, description = "Make a one-time login token for a new user.")
    static final class Invite extends Base {
        @Parameters(paramLabel = "USERNAME")
        String username;

        @Override
        public Integer call() {
            JsonNode res = api().post("/v1/admin/invites", Map.of("username", username));
            out().println(res.get("token").asText());
            err().println("Give this to " + username + "; they run: gpu-dev login --token TOKEN"
                    + " (valid until " + res.get("expires_at").asText() + ", once)");
            return 0;
        }
    }
}
