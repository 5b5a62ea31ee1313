package dev.gpudev.backend.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What the server does in the files of an unpacked image (and of a build's folder), as root, only while nothing of
 * a tenant runs there, never following a link out: making an image's tree safe to mount, resolving a path as the
 * image would, measuring a tree, removing one.
 */
final class ImageFiles {
    private static final Logger log = LoggerFactory.getLogger(ImageFiles.class);

    private ImageFiles() {
    }

    /** Paths the box mounts over: made in every root file system, as real directories. */
    static final List<String> MOUNT_DIRS = List.of("dev", "proc", "tmp", "home", "run", "etc", "var", "var/tmp", ".gpudev",
            ".gpudev/host", ".gpudev/host/usr", ".gpudev/host/lib", ".gpudev/host/lib64", ".gpudev/run");
    /** Files the box mounts over: made as real, empty files where the image has none. */
    static final List<String> MOUNT_FILES = List.of("etc/passwd", "etc/group", "etc/resolv.conf", "etc/hosts");


    /**
     * The root file system as the box may mount it: no setuid or setgid file (the box has no new privileges
     * anyway; this is the second wall), and every mount point a real directory or file of its own, never a
     * link into somewhere else. Only here, before anyone runs anything in it, and never following a link.
     */
    static void makeSafe(Path rootfs) throws IOException {
        if (!Files.isDirectory(rootfs, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("the image has no root file system");
        }
        Files.walkFileTree(rootfs, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
                    var mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                    if ((mode & 06000) != 0) {
                        Files.setPosixFilePermissions(file, perms); // setPosixFilePermissions writes the nine bits only
                    }
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (String d : MOUNT_DIRS) {
            Path p = rootfs.resolve(d);
            if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                deleteQuietly(p);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(p);
            }
        }
        for (String f : MOUNT_FILES) {
            Path p = rootfs.resolve(f);
            if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                deleteQuietly(p);
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(p);
            }
        }
        Files.setPosixFilePermissions(rootfs.resolve("tmp"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    }


    /** Whether the image has this program, following its links only inside the image (each part of the path). */
    static boolean executable(Path rootfs, String path) {
        Path p = resolveInside(rootfs, path);
        return p != null && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * A path of the image resolved as the image would (links relative to its root, at every part), never
     * leaving it; null when it cannot be (too many links, a part that is not there).
     */
    static Path resolveInside(Path rootfs, String path) {
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                todo.addLast(part);
            }
        }
        List<String> at = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String part = todo.removeFirst();
            if (part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!at.isEmpty()) {
                    at.removeLast();
                }
                continue;
            }
            Path here = rootfs;
            for (String a : at) {
                here = here.resolve(a);
            }
            Path next = here.resolve(part);
            if (Files.isSymbolicLink(next)) {
                if (++links > 16) {
                    return null;
                }
                try {
                    String target = Files.readSymbolicLink(next).toString();
                    List<String> rest = new ArrayList<>(todo);
                    todo.clear();
                    if (target.startsWith("/")) {
                        at.clear();
                    }
                    for (String t : target.split("/")) {
                        if (!t.isEmpty()) {
                            todo.addLast(t);
                        }
                    }
                    todo.addAll(rest);
                } catch (IOException e) {
                    return null;
                }
                continue;
            }
            if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            at.add(part);
        }
        Path out = rootfs;
        for (String a : at) {
            out = out.resolve(a);
        }
        return out;
    }

    static long sizeOf(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                total[0] += attrs.size();
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }


    static void deleteQuietly(Path p) {
        try {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                // write permission first: an image may have read-only directories
                Files.walkFileTree(p, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                        dir.toFile().setWritable(true, true);
                        dir.toFile().setExecutable(true, true);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
            } else {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("could not remove {}: {}", p, e.getMessage());
        }
    }
}
