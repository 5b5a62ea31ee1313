package dev.gpudev.server;

import dev.gpudev.core.ValidationException;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/** postgresql://user:password@host:port/db (or a jdbc:postgresql:// URL) into JDBC terms. */
record DatabaseUrl(String jdbcUrl, String user, String password) {

    static DatabaseUrl parse(String url) {
        if (url.startsWith("jdbc:postgresql://")) {
            // A JDBC URL may carry user and password itself; else they come from the environment.
            boolean carries = url.contains("user=");
            return new DatabaseUrl(url, carries ? null : System.getenv("POSTGRES_USER"), carries ? null : System.getenv("POSTGRES_PASSWORD"));
        }
        if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
            throw new ValidationException("--database-url must look like postgresql://user:password@host:5432/gpudev");
        }
        try {
            URI u = URI.create(url);
            String user = null;
            String password = null;
            if (u.getRawUserInfo() != null) {
                String[] parts = u.getRawUserInfo().split(":", 2);
                user = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
                password = parts.length > 1 ? URLDecoder.decode(parts[1], StandardCharsets.UTF_8) : null;
            }
            int port = u.getPort() == -1 ? 5432 : u.getPort();
            String db = u.getPath() == null || u.getPath().length() <= 1 ? "gpudev" : u.getPath().substring(1);
            String query = u.getRawQuery() == null ? "" : "?" + u.getRawQuery();
            return new DatabaseUrl("jdbc:postgresql://" + u.getHost() + ":" + port + "/" + db + query, user, password);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("--database-url is not a valid URL");
        }
    }
}
