package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/** Where the CLI keeps things: config, credentials (0600), ssh config and known hosts. */
final class Settings {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DEFAULT_API_URL = "http://127.0.0.1:8080";

    private final Path home;
    private final Map<String, String> env;

    Settings(Map<String, String> env) {
        this.env = env;
        String h = env.get("HOME");
        this.home = Path.of(h != null && !h.isBlank() ? h : System.getProperty("user.home"));
    }

    Map<String, String> env() {
        return env;
    }

    Path home() {
        return home;
    }

    Path stateDir() {
        return home.resolve(".gpu-dev");
    }

    Path credentialsFile() {
        return stateDir().resolve("credentials");
    }

    Path configFile() {
        return home.resolve(".config/gpu-dev/config.json");
    }

    /** --api-url, then GPU_DEV_API_URL, then config.json's api_url, then the local default. */
    String apiUrl(String flag) {
        if (flag != null && !flag.isBlank()) {
            return strip(flag);
        }
        String e = env.get("GPU_DEV_API_URL");
        if (e != null && !e.isBlank()) {
            return strip(e);
        }
        JsonNode cfg = readJson(configFile());
        if (cfg != null && cfg.hasNonNull("api_url")) {
            return strip(cfg.get("api_url").asText());
        }
        return DEFAULT_API_URL;
    }

    private static String strip(String url) {
        String u = url.trim();
        if (!u.startsWith("http://") && !u.startsWith("https://")) {
            throw new CliException(2, "the API URL must start with http:// or https://, not '" + u + "'");
        }
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    boolean hasEnvApiUrl() {
        String e = env.get("GPU_DEV_API_URL");
        return e != null && !e.isBlank();
    }

    /** Sets one key of ~/.config/gpu-dev/config.json, keeping the others. */
    void saveConfig(String key, String value) {
        JsonNode current = readJson(configFile());
        ObjectNode cfg = current instanceof ObjectNode o ? o : JSON.createObjectNode();
        cfg.put(key, value);
        writePrivate(configFile(), cfg.toPrettyString());
    }

    ObjectNode credentials() {
        JsonNode n = readJson(credentialsFile());
        return n instanceof ObjectNode o ? o : null;
    }

    void saveCredentials(ObjectNode creds) {
        writePrivate(credentialsFile(), creds.toPrettyString());
    }

    static void writePrivate(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CliException(1, "could not write " + file + ": " + e.getMessage());
        }
    }

    private static JsonNode readJson(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new CliException(2, file + " is not valid JSON: fix or delete it");
        }
    }
}
