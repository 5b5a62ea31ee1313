package dev.gpudev.processor;

import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.core.Command;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What needs a disk's files: deleting them, listing them; and renames, which need only the database
 * (files are found by the disk's stable id) but must not race an admission of that disk.
 */
final class DiskOperations {
    private static final Logger log = LoggerFactory.getLogger(DiskOperations.class);
    /** Entries of a disk listing at most (the total size counts every file). */
    static final int LISTING_LIMIT = 1000;

    private final Parts p;

    DiskOperations(Parts parts) {
        this.p = parts;
    }

    /** A refusal of a disk operation: recorded as its outcome, not retried. */
    private static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /** The row is gone already (the API removed it with the command); the files go here. */
    void delete(Command.DeleteDisk cmd) {
        try {
            p.backend().deleteDisk(new DiskRef(cmd.diskId(), 0, cmd.owner(), cmd.name()));
        } catch (Exception e) {
            throw new IllegalStateException("could not delete the files of disk " + cmd.diskId() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A rename or a listing, its outcome written to the operation's row. Database failures roll back and
     * the command comes again (every step is idempotent); refusals and file errors are the outcome.
     */
    void carryOut(Connection c, Command.DiskOperation cmd) throws SQLException {
        var op = p.disks().operation(c, null, cmd.operationId()).orElse(null);
        if (op == null || !op.status().equals("pending")) {
            return; // unknown, or done already (a redelivered command)
        }
        String result;
        try {
            result = switch (op.operation()) {
                case "list_content" -> listing(p.backend().listDisk(new DiskRef(op.diskId(), op.userId(), op.username(), op.disk()), LISTING_LIMIT));
                case "rename" -> rename(c, op);
                default -> throw new Refused("unknown disk operation " + op.operation());
            };
        } catch (SQLException e) {
            throw e;
        } catch (Exception e) {
            log.info("disk operation {} ({} of {}) refused or failed: {}", op.id(), op.operation(), op.disk(), e.getMessage());
            p.disks().finish(c, op.id(), false, null, e.getMessage());
            return;
        }
        p.disks().finish(c, op.id(), true, result, null);
    }

    private static String listing(DiskListing listing) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("entries", listing.entries().stream().map(e -> Map.of("path", e.path(), "size", e.size(),
                "directory", e.directory(), "modified", e.modified().toString())).toList());
        out.put("truncated", listing.truncated());
        out.put("total_bytes", listing.totalBytes());
        return Json.write(out);
    }

    private String rename(Connection c, Disks.Operation op) throws Exception {
        // Never while a scheduling pass runs: it could admit a reservation of this disk meanwhile.
        p.schedulerState().lock(c);
        String to = op.argument();
        var disk = p.disks().lock(c, op.userId(), op.disk()).filter(d -> d.id() == op.diskId())
                .orElseThrow(() -> new Refused("you have no disk " + op.disk() + " any more"));
        if (p.reservations().diskWanted(c, disk.id())) {
            throw new Refused("disk " + disk.name() + " is used by a live or waiting reservation: cancel it first");
        }
        if (p.disks().lock(c, op.userId(), to).isPresent()) {
            throw new Refused("you have a disk named " + to + " already");
        }
        // A disk's first look finds files a backend kept under its name before disks had ids (and moves
        // them to the id): done before the name changes, or they would stay under the old one.
        p.backend().listDisk(new DiskRef(disk.id(), op.userId(), op.username(), disk.name()), 1);
        p.disks().rename(c, disk.id(), to);
        log.info("disk {} of {} renamed to {}", disk.name(), op.username(), to);
        return Json.write(Map.of("name", to, "previous_name", disk.name()));
    }
}
