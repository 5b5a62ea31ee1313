package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/** Where the CLI keeps things: config, credentials (0600), ssh config and known hosts. */
final class Settings {
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

    private String flagApiUrl;

    void flagApiUrl(String url) {
        this.flagApiUrl = url;
    }

    /** An API URL and where it came from. */
    record ApiUrl(String url, String source) {
    }

    /**
     * The one order of sources for the API URL: --api-url, then GPU_DEV_API_URL, then the server you
     * logged in to (the credentials file: a key belongs to its server), then config.json's api_url, then
     * the local default.
     */
    ApiUrl apiUrl() {
        if (flagApiUrl != null && !flagApiUrl.isBlank()) {
            return new ApiUrl(strip(flagApiUrl), "--api-url");
        }
        String e = env.get("GPU_DEV_API_URL");
        if (e != null && !e.isBlank()) {
            return new ApiUrl(strip(e), "GPU_DEV_API_URL");
        }
        ObjectNode creds = credentials();
        if (creds != null && creds.hasNonNull("api_url") && creds.hasNonNull("api_key")) {
            return new ApiUrl(strip(creds.get("api_url").asText()), credentialsFile() + " (where you logged in)");
        }
        JsonNode cfg = readJson(configFile());
        if (cfg != null && cfg.hasNonNull("api_url")) {
            return new ApiUrl(strip(cfg.get("api_url").asText()), configFile().toString());
        }
        return new ApiUrl(DEFAULT_API_URL, "the default");
    }

    /** The URL without the credentials' say: config.json's, else the default (where a new login goes). */
    String configuredApiUrl() {
        JsonNode cfg = readJson(configFile());
        return cfg != null && cfg.hasNonNull("api_url") ? strip(cfg.get("api_url").asText()) : DEFAULT_API_URL;
    }

    /** A URL as given, checked. */
    static String checkedUrl(String url) {
        return strip(url);
    }

    private static String strip(String url) {
        String u = url.trim();
        if (!u.startsWith("http://") && !u.startsWith("https://")) {
            throw new CliException(2, "the API URL must start with http:// or https://, not '" + u + "'");
        }
        return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    }

    /** Sets one key of ~/.config/gpu-dev/config.json, keeping the others. */
    void saveConfig(String key, String value) {
        JsonNode current = readJson(configFile());
        ObjectNode cfg = current instanceof ObjectNode o ? o : Json.object();
        cfg.put(key, value);
        writePrivate(configFile(), Json.pretty(cfg));
    }

    ObjectNode credentials() {
        JsonNode n = readJson(credentialsFile());
        return n instanceof ObjectNode o ? o : null;
    }

    void saveCredentials(ObjectNode creds) {
        writePrivate(credentialsFile(), Json.pretty(creds));
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
            return Json.parse(Files.readString(file));
        } catch (IOException e) {
            throw new CliException(2, file + " is not valid JSON: fix or delete it");
        }
    }
}
