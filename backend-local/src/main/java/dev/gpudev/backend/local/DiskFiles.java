package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongToIntFunction;

/**
 * Named disks as directories: disks/ID under the data dir, by the disk's stable id. The disks' root is
 * the server's; each disk's directory is its owner's. What is inside is only ever looked at or removed
 * as the owner ({@link TenantJobs}).
 */
final class DiskFiles {
    private static final Logger log = LoggerFactory.getLogger(DiskFiles.class);
    /** Written once the disks kept under their owners' names (before disks had ids) were moved to their ids. */
    static final String LAYOUT_MARKER = ".layout-by-id";

    private final Path root;
    private final int uidBase;
    private final Duration deadline;

    DiskFiles(Path root, int uidBase, Duration deadline) {
        this.root = root.toAbsolutePath().normalize();
        this.uidBase = uidBase;
        this.deadline = deadline;
    }

    /** The disk's directory (not created here). */
    Path dir(DiskRef disk) throws BackendException {
        if (disk.id() <= 0) {
            throw new BackendException("a disk has a positive id", false);
        }
        return root.resolve(Long.toString(disk.id()));
    }

    void delete(DiskRef disk) throws BackendException {
        Path dir = dir(disk);
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        remove(dir, uidBase, deadline);
    }

    /** A directory of a tenant's (a disk, a scratch home) and everything in it: emptied as its owner, then removed. */
    static void remove(Path dir, int uidBase, Duration deadline) throws BackendException {
        int owner = TenantJobs.ownerOf(dir, uidBase);
        TenantJobs.empty(dir, owner, deadline);
        try {
            Files.delete(dir);
        } catch (IOException e) {
            throw new BackendException("could not remove " + dir.getFileName() + " (something in it is not its owner's to remove): "
                    + e.getMessage(), true, e);
        }
    }

    /** At most limit entries, shallowest first (a listing cut short shows the top of the tree); links are listed, not followed. */
    DiskListing list(DiskRef disk, int limit) throws BackendException {
        Path dir = dir(disk);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return new DiskListing(List.of(), false, 0);
        }
        return TenantJobs.list(dir, TenantJobs.ownerOf(dir, uidBase), limit, deadline);
    }

    /**
     * Once: disks kept as disks/OWNER/NAME (before disks had ids) move to disks/ID. Only what is exactly
     * that is moved: a directory OWNER made by the server (not a disk: a disk's directory is its owner's,
     * and a user named with digits never finds someone's disk id there), holding a plain directory NAME
     * owned by that disk's owner. Anything else is left where it is, and said.
     *
     * @param uidOf the uid a user's files are owned by here, by user id
     */
    void migrateLegacy(List<DiskRef> disks, LongToIntFunction uidOf) throws IOException {
        Path marker = root.resolve(LAYOUT_MARKER);
        if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(root);
            Files.writeString(marker, "disks are kept by id\n");
            return;
        }
        Set<String> ids = new HashSet<>();
        disks.forEach(d -> ids.add(Long.toString(d.id())));
        int serverUid = Accounts.serverUid();
        for (DiskRef d : disks) {
            Path target = root.resolve(Long.toString(d.id()));
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) || d.owner() == null || d.name() == null) {
                continue;
            }
            String ownerDir = d.owner().replaceAll("[^A-Za-z0-9._-]", "_");
            Path parent = root.resolve(ownerDir);
            Path legacy = parent.resolve(d.name());
            if (ownerDir.startsWith(".") || d.name().startsWith(".") || d.name().contains("/") || !legacy.normalize().startsWith(root)
                    || !Files.exists(legacy, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            String refusal = null;
            try {
                int parentUid = (Integer) Files.getAttribute(parent, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                int legacyUid = (Integer) Files.getAttribute(legacy, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                if (ids.contains(ownerDir)) {
                    refusal = ownerDir + " is also a disk's id: it is that disk, or cannot be told from it";
                } else if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS) || parentUid != serverUid) {
                    refusal = ownerDir + " is not a directory the server made for its owner's disks";
                } else if (!Files.isDirectory(legacy, LinkOption.NOFOLLOW_LINKS)) {
                    refusal = "it is not a directory";
                } else if (legacyUid != uidOf.applyAsInt(d.ownerId())) {
                    refusal = "it is owned by uid " + legacyUid + ", not by the disk's owner";
                }
            } catch (IOException | UnsupportedOperationException e) {
                refusal = e.getMessage();
            }
            if (refusal != null) {
                log.warn("disk {} of {}: {} left where it is: {}", d.name(), d.owner(), root.relativize(legacy), refusal);
                continue;
            }
            Files.move(legacy, target, StandardCopyOption.ATOMIC_MOVE);
            log.info("disk {} of {} moved from {} to its id {}", d.name(), d.owner(), root.relativize(legacy), d.id());
        }
        Files.writeString(marker, "disks are kept by id\n");
    }
}
