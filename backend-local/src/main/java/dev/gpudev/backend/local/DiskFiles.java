package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Named disks as directories: disks/ID under the data dir, by the disk's stable id. A directory kept
 * under the owner's and the disk's names (before disks had ids) is moved to its id on first use.
 * Every path is normalised and checked to stay under the disks' root.
 */
final class DiskFiles {
    private final Path root;

    DiskFiles(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** The disk's directory (not created here). */
    Path dir(DiskRef disk) throws BackendException {
        Path dir = inside(root.resolve(Long.toString(disk.id())));
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && disk.owner() != null && disk.name() != null && !disk.name().isBlank()) {
            Path legacy = root.resolve(disk.owner().replaceAll("[^A-Za-z0-9._-]", "_")).resolve(disk.name()).normalize();
            if (legacy.startsWith(root) && legacy.getNameCount() == root.getNameCount() + 2 && !legacy.getFileName().toString().startsWith(".")
                    && Files.isDirectory(legacy, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Files.move(legacy, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw new BackendException("could not move disk " + disk.name() + " to its id: " + e.getMessage(), true, e);
                }
            }
        }
        return dir;
    }

    private Path inside(Path p) throws BackendException {
        Path n = p.toAbsolutePath().normalize();
        if (!n.startsWith(root) || n.equals(root)) {
            throw new BackendException("a disk path must stay under " + root, false);
        }
        return n;
    }

    void delete(DiskRef disk) throws BackendException {
        Path dir = dir(disk);
        try {
            deleteTree(dir);
        } catch (IOException e) {
            throw new BackendException("could not delete disk " + disk.name() + ": " + e.getMessage(), true, e);
        }
    }

    /** At most limit entries, breadth first (a listing cut short shows the top of the tree); links are listed, not followed. */
    DiskListing list(DiskRef disk, int limit) throws BackendException {
        Path top = dir(disk);
        if (!Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
            return new DiskListing(List.of(), false, 0);
        }
        List<DiskListing.Entry> entries = new ArrayList<>();
        long bytes = 0;
        boolean more = false;
        ArrayDeque<Path> dirs = new ArrayDeque<>(List.of(top));
        int visited = 0;
        while (!dirs.isEmpty() && visited < 200_000) { // a bound on the work: past it the total is a lower bound
            Path dir = dirs.poll();
            List<Path> children;
            try (var list = Files.list(dir)) {
                children = list.sorted().toList();
            } catch (IOException e) {
                continue; // unreadable: listed as a directory by its parent, contents skipped
            }
            for (Path child : children) {
                visited++;
                BasicFileAttributes attrs;
                try {
                    attrs = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException e) {
                    continue;
                }
                if (attrs.isRegularFile()) {
                    bytes += attrs.size();
                }
                if (entries.size() < limit) {
                    entries.add(new DiskListing.Entry(top.relativize(child).toString().replace('\\', '/'), attrs.isRegularFile() ? attrs.size() : 0,
                            attrs.isDirectory(), attrs.lastModifiedTime().toInstant()));
                } else {
                    more = true;
                }
                if (attrs.isDirectory()) {
                    dirs.add(child);
                }
            }
        }
        return new DiskListing(entries, more || !dirs.isEmpty(), bytes);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path f : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
