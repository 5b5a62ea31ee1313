package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The CLI's own settings and the ssh config it writes. */
final class ConfigCommands {
    private ConfigCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("config", "Settings of this CLI.").sub(
                Cli.Command.of("show", "The API URL in use and where it comes from, and who you are.").action(new Show()),
                Cli.Command.of("set", "Set a setting: config set api_url URL.").param("KEY", null).param("VALUE", null).action(new Set()),
                Cli.Command.of("ssh-include", "Include ~/.gpu-dev/ssh_config from ~/.ssh/config, so `ssh gpudev-…` and editors find "
                        + "your environments.").action(new SshInclude()));
    }

    static final class Show extends Base {
        @Override
        int call() {
            Settings.ApiUrl url = settings.apiUrl();
            out().println("api_url:     " + url.url() + "   (from " + url.source() + ")");
            out().println("             order: --api-url, GPU_DEV_API_URL, the server you logged in to, " + settings.configFile()
                    + ", " + Settings.DEFAULT_API_URL);
            ObjectNode c = settings.credentials();
            out().println("credentials: " + settings.credentialsFile() + (c == null || !c.hasNonNull("api_key") ? " (not logged in)"
                    : " (" + c.path("username").asText() + " at " + c.path("api_url").asText() + ", key until "
                    + c.path("expires_at").asText() + ", " + c.path("login").asText("token") + " login)"));
            out().println("ssh config:  " + settings.stateDir().resolve("ssh_config"));
            return 0;
        }
    }

    static final class Set extends Base {
        @Override
        int call() {
            String key = args.param(0);
            String value = args.param(1);
            if (!"api_url".equals(key)) {
                throw new CliException(2, "unknown setting '" + key + "': the one setting is api_url");
            }
            Settings.checkedUrl(value);
            settings.saveConfig("api_url", value.trim());
            out().println("api_url = " + value.trim() + " (in " + settings.configFile() + ")");
            ObjectNode c = settings.credentials();
            if (c != null && c.hasNonNull("api_key") && !Settings.checkedUrl(value).equals(c.path("api_url").asText())) {
                out().println("note: you are logged in to " + c.path("api_url").asText() + ", which commands keep using;"
                        + " log in again to use " + value.trim());
            }
            return 0;
        }
    }

    static final class SshInclude extends Base {
        @Override
        int call() throws IOException {
            Path sshConfig = settings.home().resolve(".ssh").resolve("config");
            String line = "Include " + settings.stateDir().resolve("ssh_config");
            String current = Files.exists(sshConfig) ? Files.readString(sshConfig) : "";
            if (current.lines().anyMatch(l -> l.trim().equals(line))) {
                out().println(sshConfig + " already includes it");
                return 0;
            }
            Files.createDirectories(sshConfig.getParent());
            // First in the file: an Include inside a Host block would only apply to that host.
            Settings.writePrivate(sshConfig, line + "\n\n" + current);
            out().println("Added to the top of " + sshConfig + ": " + line);
            return 0;
        }
    }

    static final class SshConfigCommand extends Base {
        static Cli.Command command() {
            return Cli.Command.of("ssh-config", "Write ~/.gpu-dev/ssh_config for your active reservations (ssh, scp, VS Code Remote-SSH).")
                    .action(new SshConfigCommand());
        }

        @Override
        int call() {
            ObjectNode c = session().credentials();
            JsonNode jobs = api().get("/v1/jobs?status=active&limit=500").get("jobs");
            List<JsonNode> list = new ArrayList<>();
            jobs.forEach(list::add);
            Path file = SshConfig.write(settings, c, list);
            out().println("Wrote " + file + " (" + list.size() + " active reservation" + (list.size() == 1 ? "" : "s") + ")");
            for (JsonNode j : list) {
                int nodes = j.hasNonNull("nodes") ? j.get("nodes").size() : 1;
                for (int n = 0; n < nodes; n++) {
                    out().println("  ssh -F " + file + " " + SshConfig.hostAlias(j, n)
                            + (j.hasNonNull("name") ? "   # " + j.get("name").asText() + (nodes > 1 ? " node " + n : "") : ""));
                }
            }
            out().println("Include it from ~/.ssh/config to drop the -F: gpu-dev config ssh-include");
            return 0;
        }
    }
}
