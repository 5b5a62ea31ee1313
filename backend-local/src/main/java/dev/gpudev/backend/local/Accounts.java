package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Which uid a platform user's environments run as, and the files that make it a user in the box: a
 * stable mapping, a base plus the user's id, far from any uid a distribution hands out.
 */
final class Accounts {
    static final int DEFAULT_UID_BASE = 2_000_000;

    private Accounts() {
    }

    static boolean serverIsRoot() {
        return serverUid() == 0;
    }

    static int serverUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /** The uid of user {@code userId} under this sandbox: base + id, or the server's own without root. */
    static int uid(int uidBase, long userId) {
        return uidBase < 0 ? serverUid() : Math.toIntExact(uidBase + userId);
    }

    /**
     * The system's passwd and group files with the owner added (ps, whoami, the shell prompt name
     * them): world-readable copies in the environment's directory, bound over /etc in the box.
     */
    static void writeIdentity(Path envDir, String username, int uid, String home) throws IOException {
        String passwd = Files.exists(Path.of("/etc/passwd")) ? Files.readString(Path.of("/etc/passwd")) : "";
        String group = Files.exists(Path.of("/etc/group")) ? Files.readString(Path.of("/etc/group")) : "";
        String name = username;
        if (!passwd.lines().anyMatch(l -> l.startsWith(name + ":"))) {
            passwd += name + ":x:" + uid + ":" + uid + ":gpudev user:" + home + ":/bin/bash\n";
        }
        if (!group.lines().anyMatch(l -> l.startsWith(name + ":"))) {
            group += name + ":x:" + uid + ":\n";
        }
        write(envDir.resolve("passwd"), passwd);
        write(envDir.resolve("group"), group);
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /** Makes a directory the owner's alone (0700), when the server may hand it over. */
    static void own(Path dir, int uid) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        if (serverIsRoot() && uid > 0) {
            Files.setAttribute(dir, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(dir, "unix:gid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Whether a process of this uid (no groups) could walk down to the path. */
    static boolean traversable(Path path, int uid) {
        for (Path p = path.toAbsolutePath(); p != null; p = p.getParent()) {
            try {
                int owner = (Integer) Files.getAttribute(p, "unix:uid");
                var perms = Files.getPosixFilePermissions(p);
                boolean ok = owner == uid ? perms.contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE)
                        : perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE);
                if (!ok) {
                    return false;
                }
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
        return true;
    }
}
