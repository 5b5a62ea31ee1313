package dev.gpudev.server;

import dev.gpudev.core.Tokens;
import dev.gpudev.store.Database;
import dev.gpudev.store.Users;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The first admin. While no admin exists, the server writes a login token to {@code <data-dir>/admin-token}
 * (mode 0600, readable only by whoever runs the server); logging in with it makes that person the admin,
 * named after the OS user, and uses it up: a copied file is worth nothing afterwards. It lasts 7 days.
 * A new one, when an admin has lost their way in: {@code gpu-dev server admin-token}.
 */
final class Bootstrap {
    static final java.time.Duration LIFETIME = java.time.Duration.ofDays(7);

    private Bootstrap() {
    }

    /** The token file, made fresh unless an admin exists or an open token is there already; null when an admin exists. */
    static Path ensureAdminToken(Database db, Users users, Path dataDir) throws IOException {
        Path file = dataDir.resolve("admin-token");
        java.time.Instant now = java.time.Instant.now();
        if (db.query(users::hasAdmin)) {
            return null;
        }
        if (Files.exists(file) && db.query(c -> users.hasOpenAdminInvite(c, now))) {
            return file;
        }
        return newToken(db, users, dataDir, adminName());
    }

    /** The OS user's name as a username (the one grammar of names), or "admin". */
    static String adminName() {
        String name = System.getProperty("user.name", "admin").toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9._-]", "_");
        return dev.gpudev.core.Names.valid(name) ? name : "admin";
    }

    /** A new one-time admin token for that user, written to the data dir (0600); returns the file. */
    static Path newToken(Database db, Users users, Path dataDir, String admin) throws IOException {
        String token = Tokens.newSecret();
        java.time.Instant expires = java.time.Instant.now().plus(LIFETIME);
        db.inTransaction(c -> {
            users.createInvite(c, Tokens.sha256Hex(token), admin, true, false, null, expires);
            return null;
        });
        Path file = dataDir.resolve("admin-token");
        Path tmp = dataDir.resolve("admin-token.tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return file;
    }
}
