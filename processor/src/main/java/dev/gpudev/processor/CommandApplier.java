package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Command;
import dev.gpudev.core.Transition;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Pgmq;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Reads the queue's commands in batches and applies each in its own transaction, deleting the message
 * only with its effect. A command that fails three times goes to the archive (dead letter) and its
 * reservation fails with the reason. Creates are only wake-ups: removed in bulk, their ids handed to
 * scheduling as the cycle's arrivals. What a command asks of the backend is asked after its commit, off
 * the loop ({@link BackendCalls}); a disk's deletion is the one command acknowledged only when its call
 * succeeded (until then its message stays leased, and comes back if the call failed).
 */
final class CommandApplier {
    private static final Logger log = LoggerFactory.getLogger(CommandApplier.class);
    /** A command that failed this many times goes to the archive (dead letter). */
    static final int MAX_DELIVERIES = 3;

    /** What a round of commands did: the new arrivals, and whether anything else changed (the plan must be made again). */
    record Outcome(List<UUID> arrivals, boolean changed) {
    }

    private final Database db;
    private final Pgmq pgmq;
    private final CommandQueue commands;
    private final Reservations reservations;
    private final Clock clock;
    private final ProcessorSettings settings;
    private final BackendCalls calls;
    private final ReservationCommands reservationCommands;
    private final DiskOperations diskOperations;

    CommandApplier(Database db, Pgmq pgmq, CommandQueue commands, Reservations reservations, Clock clock, ProcessorSettings settings,
                   BackendCalls calls, ReservationCommands reservationCommands, DiskOperations diskOperations) {
        this.db = db;
        this.pgmq = pgmq;
        this.commands = commands;
        this.reservations = reservations;
        this.clock = clock;
        this.settings = settings;
        this.calls = calls;
        this.reservationCommands = reservationCommands;
        this.diskOperations = diskOperations;
    }

    Outcome applyAll() {
        acknowledgeDeletions();
        List<UUID> arrivals = new ArrayList<>();
        boolean changed = false;
        for (int round = 0; round < 20; round++) {
            List<Pgmq.Message> batch = db.query(c -> pgmq.read(c, commands.queue(), (int) settings.lease().toSeconds(), 100));
            if (batch.isEmpty()) {
                break;
            }
            List<Long> creates = new ArrayList<>();
            for (Pgmq.Message m : batch) {
                Command cmd = parsedOrNull(m);
                if (cmd instanceof Command.Create create) {
                    creates.add(m.msgId());
                    arrivals.add(create.reservationId());
                } else if (cmd instanceof Command.DeleteDisk d && m.readCt() <= MAX_DELIVERIES) {
                    deleteDisk(m, d);
                } else {
                    changed = true;
                    apply(m, cmd);
                }
            }
            if (!creates.isEmpty()) {
                try {
                    db.query(c -> pgmq.delete(c, commands.queue(), creates));
                } catch (RuntimeException e) {
                    log.warn("could not remove {} create commands (they come back after their lease): {}", creates.size(), e.getMessage());
                }
            }
        }
        return new Outcome(arrivals, changed);
    }

    private static Command parsedOrNull(Pgmq.Message m) {
        try {
            return CommandQueue.parse(m.message());
        } catch (RuntimeException e) {
            return null; // apply() records the failure and dead-letters it in the end
        }
    }

    private void apply(Pgmq.Message m, Command parsed) {
        List<BackendCall> after = new ArrayList<>();
        try {
            db.inTransaction(c -> {
                after.clear(); // a retried transaction starts again
                Command cmd = parsed != null ? parsed : CommandQueue.parse(m.message());
                switch (cmd) {
                    case Command.Create ignored -> {
                        // removed in bulk by applyAll
                    }
                    case Command.OfReservation r -> reservationCommands.apply(c, r, after);
                    case Command.DeleteDisk d -> throw new IllegalStateException("could not delete the files of disk " + d.diskId()
                            + " in " + m.readCt() + " tries");
                    case Command.DiskOperation o -> diskOperations.carryOut(c, o);
                }
                pgmq.delete(c, commands.queue(), m.msgId());
                return null;
            });
        } catch (RuntimeException e) {
            if (m.readCt() >= MAX_DELIVERIES) {
                deadLetter(m, e);
            } else {
                log.warn("command {} failed (delivery {}), will retry: {}", m.msgId(), m.readCt(), e.getMessage());
            }
            return;
        }
        after.forEach(calls::submit);
    }

    /** A disk's files go off the loop; its command stays leased meanwhile, and is acknowledged when they are gone. */
    private void deleteDisk(Pgmq.Message m, Command.DeleteDisk d) {
        var request = diskOperations.delete(d, m.msgId());
        if (calls.pending(request)) {
            // still at it (a slow or hung disk): the command stays hidden from other replicas meanwhile
            db.query(c -> pgmq.setVt(c, commands.queue(), m.msgId(), (int) settings.lease().toSeconds()));
            return;
        }
        calls.submit(request);
    }

    private void acknowledgeDeletions() {
        for (var o : calls.drain(BackendCall.DeleteDisk.class)) {
            var req = (BackendCall.DeleteDisk) o.request();
            if (o.ok()) {
                db.query(c -> pgmq.delete(c, commands.queue(), req.messageId()));
            } else {
                log.warn("could not delete the files of disk {} (tried again after the lease): {}", req.disk().id(), o.problem());
            }
        }
    }

    private void deadLetter(Pgmq.Message m, RuntimeException e) {
        log.error("command {} failed {} times; archived: {}", m.msgId(), m.readCt(), e.getMessage());
        db.inTransaction(c -> {
            pgmq.archive(c, commands.queue(), m.msgId());
            // Read leniently: the command may be poison precisely because it does not parse.
            var id = CommandQueue.reservationIdOf(m.message());
            var r = id.isEmpty() ? java.util.Optional.<dev.gpudev.core.Reservation>empty() : reservations.find(c, id.get());
            if (r.isPresent() && !r.get().status().isTerminal()) {
                reservations.transition(c, r.get().id(), r.get().status(), Transition.fail("internal error applying a command ("
                        + m.readCt() + " tries): " + e.getMessage()), clock.instant());
            }
            return null;
        });
    }
}
