package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/**
 * The ssh config that `connect` uses: the environment behind the proxy as a ProxyJump, host keys
 * pinned on first use under an alias per environment (ports are reused, keys are not).
 */
final class SshConfig {
    private SshConfig() {
    }

    static String hostAlias(JsonNode job) {
        return "gpudev-" + job.get("connection").get("host_key_alias").asText().replaceFirst("^gpudev-", "");
    }

    static Path write(Settings settings, ObjectNode creds, JsonNode job) {
        JsonNode c = job.get("connection");
        String user = safe(c.get("user").asText());
        String proxyHost = safe(c.get("proxy_host").asText());
        int proxyPort = c.get("proxy_port").asInt();
        String proxyAlias = "gpudev-proxy-" + proxyHost + "-" + proxyPort;
        Path dir = settings.stateDir();
        String identity = creds.hasNonNull("ssh_identity") ? creds.get("ssh_identity").asText() : null;
        StringBuilder sb = new StringBuilder("# Written by gpu-dev connect; rewritten on every connect.\n");
        sb.append("Host ").append(proxyAlias).append('\n')
                .append("  HostName ").append(proxyHost).append('\n')
                .append("  Port ").append(proxyPort).append('\n')
                .append("  User ").append(user).append('\n')
                .append("  HostKeyAlias ").append(proxyAlias).append('\n');
        sb.append("Host ").append(hostAlias(job)).append('\n')
                .append("  HostName ").append(safe(c.get("host").asText())).append('\n')
                .append("  Port ").append(c.get("port").asInt()).append('\n')
                .append("  User ").append(user).append('\n')
                .append("  ProxyJump ").append(proxyAlias).append('\n')
                .append("  HostKeyAlias ").append(safe(c.get("host_key_alias").asText())).append('\n');
        sb.append("Host *\n")
                .append("  UserKnownHostsFile \"").append(dir.resolve("known_hosts")).append("\"\n")
                .append("  StrictHostKeyChecking accept-new\n")
                .append("  ServerAliveInterval 30\n")
                .append("  LogLevel ERROR\n");
        if (identity != null) {
            sb.append("  IdentityFile \"").append(identity).append("\"\n").append("  IdentitiesOnly yes\n");
        }
        Path file = dir.resolve("ssh_config");
        Settings.writePrivate(file, sb.toString());
        return file;
    }

    /** Values from the server go into a config file: no spaces, quotes or newlines. */
    private static String safe(String v) {
        if (!v.matches("[A-Za-z0-9._:@-]{1,255}")) {
            throw new CliException(1, "the server sent an unusable connection value: " + v);
        }
        return v;
    }
}
