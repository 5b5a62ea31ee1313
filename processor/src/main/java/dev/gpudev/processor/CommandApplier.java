package dev.gpudev.processor;

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
 * scheduling as the cycle's arrivals.
 */
final class CommandApplier {
    private static final Logger log = LoggerFactory.getLogger(CommandApplier.class);
    /** A command that failed this many times goes to the archive (dead letter). */
    static final int MAX_DELIVERIES = 3;

    /** What a round of commands did: the new arrivals, and whether anything else changed (the plan must be made again). */
    record Outcome(List<UUID> arrivals, boolean changed) {
    }

    private final Parts p;
    private final ProcessorSettings settings;
    private final ReservationCommands reservationCommands;
    private final DiskOperations diskOperations;

    CommandApplier(Parts parts, ProcessorSettings settings) {
        this.p = parts;
        this.settings = settings;
        this.reservationCommands = new ReservationCommands(parts);
        this.diskOperations = new DiskOperations(parts);
    }

    Outcome applyAll() {
        List<UUID> arrivals = new ArrayList<>();
        boolean changed = false;
        for (int round = 0; round < 20; round++) {
            List<Pgmq.Message> batch = p.db().query(c -> p.pgmq().read(c, p.commands().queue(), (int) settings.lease().toSeconds(), 100));
            if (batch.isEmpty()) {
                break;
            }
            List<Long> creates = new ArrayList<>();
            for (Pgmq.Message m : batch) {
                Command cmd = parsedOrNull(m);
                if (cmd instanceof Command.Create create) {
                    creates.add(m.msgId());
                    arrivals.add(create.reservationId());
                } else {
                    changed = true;
                    apply(m, cmd);
                }
            }
            if (!creates.isEmpty()) {
                try {
                    p.db().query(c -> p.pgmq().delete(c, p.commands().queue(), creates));
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
        try {
            p.db().inTransaction(c -> {
                Command cmd = parsed != null ? parsed : CommandQueue.parse(m.message());
                switch (cmd) {
                    case Command.Create ignored -> {
                        // removed in bulk by applyAll
                    }
                    case Command.OfReservation r -> reservationCommands.apply(c, r);
                    case Command.DeleteDisk d -> diskOperations.delete(d);
                    case Command.DiskOperation o -> diskOperations.carryOut(c, o);
                }
                p.pgmq().delete(c, p.commands().queue(), m.msgId());
                return null;
            });
        } catch (RuntimeException e) {
            if (m.readCt() >= MAX_DELIVERIES) {
                deadLetter(m, e);
            } else {
                log.warn("command {} failed (delivery {}), will retry: {}", m.msgId(), m.readCt(), e.getMessage());
            }
        }
    }

    private void deadLetter(Pgmq.Message m, RuntimeException e) {
        log.error("command {} failed {} times; archived: {}", m.msgId(), m.readCt(), e.getMessage());
        p.db().inTransaction(c -> {
            p.pgmq().archive(c, p.commands().queue(), m.msgId());
            // Read leniently: the command may be poison precisely because it does not parse.
            var id = CommandQueue.reservationIdOf(m.message());
            var r = id.isEmpty() ? java.util.Optional.<dev.gpudev.core.Reservation>empty() : p.reservations().lock(c, id.get());
            if (r.isPresent() && !r.get().status().isTerminal()) {
                p.reservations().apply(c, r.get(), Transition.fail("internal error applying a command ("
                        + m.readCt() + " tries): " + e.getMessage()), p.clock().instant());
            }
            return null;
        });
    }
}
