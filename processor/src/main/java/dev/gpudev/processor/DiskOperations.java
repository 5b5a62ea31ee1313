package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.SchedulerState;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.backend.spi.DiskListing;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.core.Command;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What is asked of a disk. A rename needs only the database (files are found by the disk's stable id)
 * but must not race an admission of that disk: it is done at once, under the scheduler's lock. A
 * listing and a deletion need the files: they are backend calls, made off the loop by
 * {@link BackendCalls}, and their outcome is recorded when it comes. Pending operations are the desired
 * state (level-triggered): a command only says "look now"; the processor also looks when it starts and
 * once a minute, so a listing cut short by a crash is taken up again.
 */
final class DiskOperations {
    private static final Logger log = LoggerFactory.getLogger(DiskOperations.class);
    /** Entries of a disk listing at most (the total size counts every file). */
    static final int LISTING_LIMIT = 1000;
    static final Duration LOOK_AGAIN_EVERY = Duration.ofMinutes(1);

    private final Database db;
    private final Reservations reservations;
    private final Disks disks;
    private final SchedulerState schedulerState;
    private final Clock clock;
    private final BackendCalls calls;
    private Instant lastLook;
    private boolean lookNow = true;

    DiskOperations(Database db, Reservations reservations, Disks disks, SchedulerState schedulerState, Clock clock, BackendCalls calls) {
        this.db = db;
        this.reservations = reservations;
        this.disks = disks;
        this.schedulerState = schedulerState;
        this.clock = clock;
        this.calls = calls;
    }

    /** A refusal of a disk operation: recorded as its outcome, not retried. */
    private static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /** The row is gone already (the API removed it with the command); the files go off the loop, and the command is acknowledged then. */
    BackendCall delete(Command.DeleteDisk cmd, long messageId) {
        return new BackendCall.DeleteDisk(messageId, new DiskRef(cmd.diskId(), 0, cmd.owner(), cmd.name()));
    }

    /** A rename is carried out in the command's transaction; a listing is looked for on this cycle's {@link #run}. */
    void carryOut(Connection c, Command.DiskOperation cmd) throws SQLException {
        var op = disks.operation(c, null, cmd.operationId()).orElse(null);
        if (op == null || !op.status().equals("pending")) {
            return; // unknown, or done already (a redelivered command)
        }
        if (op.operation().equals("rename")) {
            try {
                disks.finish(c, op.id(), true, rename(c, op), null);
            } catch (Refused e) {
                log.info("disk operation {} (rename of {}) refused: {}", op.id(), op.disk(), e.getMessage());
                disks.finish(c, op.id(), false, null, e.getMessage());
            }
        } else {
            lookNow = true;
        }
    }

    /** Records what came of earlier calls, and asks for the listings still pending. */
    void run() {
        record();
        Instant now = clock.instant();
        if (!lookNow && lastLook != null && now.isBefore(lastLook.plus(LOOK_AGAIN_EVERY))) {
            return;
        }
        lookNow = false;
        lastLook = now;
        List<Disks.Operation> pending = db.query(c -> disks.pendingOperations(c, 100));
        for (var op : pending) {
            if (op.operation().equals("list_content")) {
                calls.submit(new BackendCall.ListDisk(op.id(), new DiskRef(op.diskId(), op.userId(), op.username(), op.disk()), LISTING_LIMIT));
            } else if (op.operation().equals("rename")) {
                // its command was lost or dead-lettered: carried out now
                db.inTransaction(c -> {
                    carryOut(c, new Command.DiskOperation(op.id(), op.username()));
                    return null;
                });
            }
        }
        record(); // calls made at once (no workers) have their outcome already
    }

    /** The outcomes of listings, written to their operations. */
    private void record() {
        for (var o : calls.drain(BackendCall.ListDisk.class)) {
            var req = (BackendCall.ListDisk) o.request();
            boolean ok = o.ok();
            String result = ok ? listing((DiskListing) o.result()) : null;
            String problem = ok ? null : o.problem();
            if (!ok) {
                log.info("disk operation {} (listing of {}) failed: {}", req.operationId(), req.disk().name(), problem);
            }
            db.inTransaction(c -> {
                disks.finish(c, req.operationId(), ok, result, problem);
                return null;
            });
        }
    }

    private static String listing(DiskListing listing) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("entries", listing.entries().stream().map(e -> Map.of("path", e.path(), "size", e.size(),
                "directory", e.directory(), "modified", e.modified().toString())).toList());
        out.put("truncated", listing.truncated());
        out.put("total_bytes", listing.totalBytes());
        return Json.write(out);
    }

    private String rename(Connection c, Disks.Operation op) throws SQLException, Refused {
        // Never while a scheduling pass runs: it could admit a reservation of this disk meanwhile.
        schedulerState.lock(c);
        String to = op.argument();
        var disk = disks.lock(c, op.userId(), op.disk()).filter(d -> d.id() == op.diskId())
                .orElseThrow(() -> new Refused("you have no disk " + op.disk() + " any more"));
        if (reservations.diskWanted(c, disk.id())) {
            throw new Refused("disk " + disk.name() + " is used by a live or waiting reservation: cancel it first");
        }
        if (disks.lock(c, op.userId(), to).isPresent()) {
            throw new Refused("you have a disk named " + to + " already");
        }
        disks.rename(c, disk.id(), to);
        log.info("disk {} of {} renamed to {}", disk.name(), op.username(), to);
        return Json.write(Map.of("name", to, "previous_name", disk.name()));
    }
}
