package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.List;

/**
 * The ssh config that `connect` uses: the environment behind the proxy as a ProxyJump, host keys
 * pinned on first use under an alias per environment (ports are reused, keys are not).
 */
final class SshConfig {
    private SshConfig() {
    }

    static String hostAlias(JsonNode job, int node) {
        return "gpudev-" + endpoint(job, node).hostKeyAlias().replaceFirst("^gpudev-", "");
    }

    private record Endpoint(String host, int port, String hostKeyAlias) {
    }

    /** Node 0 is the reservation's connection; other nodes of a distributed one are in "nodes". */
    private static Endpoint endpoint(JsonNode job, int node) {
        JsonNode c = job.get("connection");
        if (node == 0 || !job.hasNonNull("nodes")) {
            return new Endpoint(c.get("host").asText(), c.get("port").asInt(), c.get("host_key_alias").asText());
        }
        JsonNode n = job.get("nodes").get(node);
        return new Endpoint(n.get("ssh_host").asText(), n.get("ssh_port").asInt(), n.get("host_key_alias").asText());
    }

    /**
     * Writes ~/.gpu-dev/ssh_config with a Host for every node of every active reservation given, each
     * through the proxy. Settings go under "Host gpudev-*" only, so the file can be included from
     * ~/.ssh/config (`gpu-dev config ssh-include`) without touching the user's other hosts.
     */
    static Path write(Settings settings, ObjectNode creds, List<JsonNode> jobs) {
        Path dir = settings.stateDir();
        String identity = creds.hasNonNull("ssh_identity") ? creds.get("ssh_identity").asText() : null;
        StringBuilder sb = new StringBuilder("# Written by gpu-dev (connect, ssh-config): the active reservations' environments.\n");
        java.util.Set<String> proxies = new java.util.LinkedHashSet<>();
        java.util.Map<String, Long> names = new java.util.HashMap<>();
        jobs.forEach(j -> {
            if (j.hasNonNull("name") && j.hasNonNull("connection")) {
                names.merge(j.get("name").asText(), 1L, Long::sum);
            }
        });
        for (JsonNode job : jobs) {
            JsonNode c = job.get("connection");
            if (c == null || c.isNull()) {
                continue;
            }
            String user = safe(c.get("user").asText());
            // The proxy knows you by your platform name; the environment may let in a user of its own (Kubernetes' "dev").
            String proxyUser = safe(c.hasNonNull("proxy_user") ? c.get("proxy_user").asText() : c.get("user").asText());
            String proxyHost = safe(c.get("proxy_host").asText());
            int proxyPort = c.get("proxy_port").asInt();
            String proxyAlias = "gpudev-proxy-" + proxyHost + "-" + proxyPort;
            if (proxies.add(proxyAlias)) {
                sb.append("Host ").append(proxyAlias).append('\n')
                        .append("  HostName ").append(proxyHost).append('\n')
                        .append("  Port ").append(proxyPort).append('\n')
                        .append("  User ").append(proxyUser).append('\n')
                        .append("  HostKeyAlias ").append(proxyAlias).append('\n');
            }
            int nodes = job.hasNonNull("nodes") ? job.get("nodes").size() : 1;
            for (int node = 0; node < nodes; node++) {
                Endpoint target = endpoint(job, node);
                // By name too (ssh gpudev-NAME, VS Code's and Cursor's Remote-SSH), where the name is one reservation's.
                String name = job.hasNonNull("name") ? job.get("name").asText() : null;
                String byName = name != null && names.getOrDefault(name, 0L) == 1 && name.matches("[a-z0-9][a-z0-9._-]{0,62}")
                        ? " gpudev-" + name + (node == 0 ? "" : "-n" + node) : "";
                sb.append("Host ").append(hostAlias(job, node)).append(byName).append('\n')
                        .append("  HostName ").append(safe(target.host())).append('\n')
                        .append("  Port ").append(target.port()).append('\n')
                        .append("  User ").append(user).append('\n')
                        .append("  ProxyJump ").append(proxyAlias).append('\n')
                        .append("  HostKeyAlias ").append(safe(target.hostKeyAlias())).append('\n');
            }
        }
        sb.append("Host gpudev-*\n")
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
