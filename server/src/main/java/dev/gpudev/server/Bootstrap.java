package dev.gpudev.server;

import dev.gpudev.core.Tokens;
import dev.gpudev.store.Database;
import dev.gpudev.store.Users;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The first admin. On first start the server writes a login token to {@code <data-dir>/admin-token}
 * (mode 0600, readable only by whoever runs the server); logging in with it makes that person the
 * admin, named after the OS user. It stays valid, so the admin can log in again when a key expires.
 */
final class Bootstrap {
    private Bootstrap() {
    }

    static Path ensureAdminToken(Database db, Users users, Path dataDir) throws IOException {
        Path file = dataDir.resolve("admin-token");
        if (Files.exists(file) && db.query(users::hasReusableAdminInvite)) {
            return file;
        }
        String token = Tokens.newSecret();
        String admin = System.getProperty("user.name", "admin").replaceAll("[^a-zA-Z0-9._-]", "_");
        db.inTransaction(c -> {
            users.createInvite(c, Tokens.sha256Hex(token), admin, true, true, null, null);
            return null;
        });
        Path tmp = dataDir.resolve("admin-token.tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return file;
    }
}
