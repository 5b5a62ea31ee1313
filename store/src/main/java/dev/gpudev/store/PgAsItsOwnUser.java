package dev.gpudev.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The embedded PostgreSQL when the server is root: as a host uid of its own ({@link #UID}, "gpudev-pg",
 * below every tenant's), never root, with its directories bound into a mount namespace of its own.
 */
final class PgAsItsOwnUser {
    static final int UID = 1_999_999;
    /** Where its directories are, as it sees them. */
    static final String INSIDE = "/run/gpudev-pg";
    private static final int PG_UID = UID;

    private PgAsItsOwnUser() {
    }

    private static boolean root() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * As root: a private mount namespace with the binaries (read-only), data and socket directories under
     * {@link #INSIDE} and an identity for {@link #PG_UID}, then that uid, no groups, no capabilities (none
     * to gain either), no new privileges.
     */
    static List<String> wrapper(Path stateDir, Path bin) throws IOException {
        if (!root()) {
            return List.of();
        }
        Path identity = stateDir.resolve("pg-identity");
        Files.createDirectories(identity);
        Files.setPosixFilePermissions(identity, PosixFilePermissions.fromString("rwx------"));
        String passwd = Files.exists(Path.of("/etc/passwd")) ? Files.readString(Path.of("/etc/passwd")) : "";
        String group = Files.exists(Path.of("/etc/group")) ? Files.readString(Path.of("/etc/group")) : "";
        Files.writeString(identity.resolve("passwd"), passwd.lines().filter(l -> !l.startsWith("gpudev-pg:"))
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"))
                + "gpudev-pg:x:" + PG_UID + ":" + PG_UID + ":gpudev's PostgreSQL:/nonexistent:/usr/sbin/nologin\n");
        Files.writeString(identity.resolve("group"), group.lines().filter(l -> !l.startsWith("gpudev-pg:"))
                .collect(java.util.stream.Collectors.joining("\n", "", "\n")) + "gpudev-pg:x:" + PG_UID + ":\n");
        for (String f : List.of("passwd", "group")) {
            Files.setPosixFilePermissions(identity.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
        }
        return List.of("/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                "mount -t tmpfs -o mode=0755 gpudev-pg /run && mkdir -p " + INSIDE + "/bin " + INSIDE + "/data " + INSIDE + "/run"
                        + " && mount --bind \"$1\" " + INSIDE + "/bin && mount -o remount,bind,ro " + INSIDE + "/bin"
                        + " && mount --bind \"$2\" " + INSIDE + "/data && mount --bind \"$3\" " + INSIDE + "/run"
                        + " && mount --bind \"$4\" /etc/passwd && mount --bind \"$5\" /etc/group && shift 5 && exec \"$@\"",
                "gpudev-pg", bin.toString(), stateDir.resolve("pgdata").toString(), stateDir.resolve("pg-run").toString(),
                identity.resolve("passwd").toString(), identity.resolve("group").toString(),
                "/usr/bin/setpriv", "--reuid=" + PG_UID, "--regid=" + PG_UID, "--clear-groups", "--no-new-privs", "--inh-caps=-all",
                "--bounding-set=-all", "--");
    }

    /** As root: the data and socket directories are PostgreSQL's uid's (a cluster made before, owned by root, is handed over). */
    static void handOver(List<String> wrapper, Path dataDir, Path socketDir) throws IOException {
        if (wrapper.isEmpty()) {
            return;
        }
        for (Path dir : List.of(dataDir, socketDir)) {
            if (!Files.exists(dir)) {
                Files.createDirectories(dir);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            }
            if (!Integer.valueOf(PG_UID).equals(Files.getAttribute(dir, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    || dir.equals(dataDir) && !ownedThroughout(dir)) {
                try (var all = Files.walk(dir)) {
                    for (Path p : all.toList()) {
                        own(p);
                    }
                }
            }
        }
    }

    /** Whether the data dir's top entries are already PostgreSQL's uid's (then the rest is too: it wrote them). */
    private static boolean ownedThroughout(Path dir) throws IOException {
        try (var top = Files.list(dir)) {
            for (Path p : top.toList()) {
                if (!Integer.valueOf(PG_UID).equals(Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
                    return false;
                }
            }
        }
        return true;
    }

    static void own(Path p) throws IOException {
        Files.setAttribute(p, "unix:uid", PG_UID, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", PG_UID, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}
