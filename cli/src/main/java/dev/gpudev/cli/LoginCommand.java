package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

final class LoginCommand extends Base {
    static Cli.Command command() {
        return Cli.Command.of("login", "Log in (with AWS credentials by default, or a token from an admin) and register your SSH key.")
                .text("--token", "TOKEN", "a login token from an admin (`gpu-dev admin invite`)")
                .text("--token-file", "FILE", "a file holding the token, e.g. <data-dir>/admin-token")
                .text("--ssh-key", "FILE", "public key to register (default ~/.ssh/id_ed25519.pub, else id_rsa.pub)")
                .action(new LoginCommand());
    }

    @Override
    int call() throws IOException {
        String token = args.text("--token");
        Path tokenFile = args.text("--token-file") == null ? null : Path.of(args.text("--token-file"));
        Path sshKey = args.text("--ssh-key") == null ? null : Path.of(args.text("--ssh-key"));
        String t = token;
        if (tokenFile != null) {
            if (!Files.isReadable(tokenFile)) {
                throw new CliException(2, "cannot read token file " + tokenFile);
            }
            t = Files.readString(tokenFile).trim();
        }
        Path pub = sshKey != null ? sshKey : defaultPublicKey();
        if (pub == null || !Files.isReadable(pub)) {
            throw new CliException(2, "no SSH public key found: create one with `ssh-keygen -t ed25519` or pass --ssh-key");
        }
        // Where to log in: the flag or the environment, else the configured or default URL (not the last login's).
        Settings.ApiUrl where = settings.apiUrl();
        String url = where.source().contains("where you logged in") ? settings.configuredApiUrl() : where.url();
        boolean aws = t == null || t.isBlank();
        JsonNode login = aws
                ? new ApiClient(url, null).post("/v1/auth/aws-login", AwsSignedLogin.request(settings.env()))
                : new ApiClient(url, null).post("/v1/auth/token-login", Map.of("token", t));
        String key = login.get("api_key").asText();
        new ApiClient(url, key).post("/v1/ssh-keys", Map.of("public_key", Files.readString(pub).trim()));
        String identity = pub.toString().endsWith(".pub") ? pub.toString().substring(0, pub.toString().length() - 4) : pub.toString();
        session().saveLogin(url, login, identity, aws);
        out().println("Logged in to " + url + " as " + login.get("username").asText()
                + (aws ? " (AWS " + login.path("aws_arn").asText() + ")" : "")
                + (login.path("is_admin").asBoolean() ? " (admin)" : "") + "; key valid until " + login.get("expires_at").asText());
        out().println("Registered SSH key " + pub);
        return 0;
    }

    private Path defaultPublicKey() {
        for (String name : List.of("id_ed25519.pub", "id_rsa.pub")) {
            Path p = settings.home().resolve(".ssh").resolve(name);
            if (Files.isReadable(p)) {
                return p;
            }
        }
        return null;
    }
}
