package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.Users;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.core.Command;
import dev.gpudev.core.Extension;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.Transition;
import dev.gpudev.core.ValidationException;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * The commands about one reservation: cancel, extend, add a user, Jupyter on or off. A command is a
 * read-modify-write of the row (an extension adds to the duration it reads), so each runs under the
 * row's lock, the one place the processor takes it; what it asks of the backend (removing a cancelled
 * environment, clearing warnings an extension made stale) is handed back, to be asked after the commit.
 */
final class ReservationCommands {
    private final Reservations reservations;
    private final ReservationUsers reservationUsers;
    private final Users users;
    private final Clock clock;
    private final java.util.function.Supplier<dev.gpudev.core.Capacity> capacity;
    private final java.time.Duration grace;

    ReservationCommands(Reservations reservations, ReservationUsers reservationUsers, Users users, Clock clock) {
        this(reservations, reservationUsers, users, clock, () -> new dev.gpudev.core.Capacity(List.of()), java.time.Duration.ZERO);
    }

    /** @param capacity the backend's nodes (from memory), for the bookings an extension may not break */
    ReservationCommands(Reservations reservations, ReservationUsers reservationUsers, Users users, Clock clock,
                        java.util.function.Supplier<dev.gpudev.core.Capacity> capacity, java.time.Duration grace) {
        this.capacity = capacity;
        this.grace = grace;
        this.reservations = reservations;
        this.reservationUsers = reservationUsers;
        this.users = users;
        this.clock = clock;
    }

    void apply(Connection c, Command.OfReservation cmd, List<BackendCall> after) throws SQLException {
        var current = reservations.lock(c, cmd.reservationId());
        if (current.isEmpty() || current.get().status().isTerminal()) {
            return; // gone or ended already: a second cancel, a late extension
        }
        Reservation r = current.get();
        Instant now = clock.instant();
        switch (cmd) {
            case Command.Cancel cancel -> {
                reservations.transition(c, r.id(), r.status(),
                        Transition.cancel("cancelled by " + (cancel.requestedBy() == null ? "owner" : cancel.requestedBy())), now);
                if (r.status().holdsGpus()) {
                    for (String name : r.environmentNames()) {
                        after.add(new BackendCall.Destroy(name));
                    }
                }
            }
            case Command.Extend extend -> extend(c, r, extend, now, after);
            case Command.Resize resize -> resize(c, r, resize, now);
            case Command.AddUser add -> addUser(c, r, add, now);
            case Command.Jupyter j -> jupyter(c, r, j, now);
            case Command.Create ignored -> {
                // a create is only a wake-up
            }
        }
    }

    /** Extends in place; a refusal (too long, already over) is recorded in the history, not retried. */
    private void extend(Connection c, Reservation r, Command.Extend cmd, Instant now, List<BackendCall> after) throws SQLException {
        try {
            var total = Extension.newDuration(r, cmd.hours(), now);
            ReservationUpdate set = ReservationUpdate.of().durationHours(total).warningsSent(List.of());
            String until = "";
            if (r.launchedAt() != null) {
                Instant end = r.launchedAt().plus(Extension.toDuration(total));
                String booked = breaksBooking(c, r, end);
                if (booked != null) {
                    throw new IllegalTransitionException(booked);
                }
                set.expiresAt(end);
                until = " (now until " + DateTimeFormatter.ISO_INSTANT.format(end) + ")";
            }
            reservations.note(c, r.id(), r.status(), "extended by " + cmd.hours().stripTrailingZeros().toPlainString()
                    + " h by " + cmd.requestedBy() + until, now, set);
            if (r.status() == ReservationStatus.ACTIVE) {
                for (String name : r.environmentNames()) {
                    after.add(new BackendCall.ClearNotices(name, Notices.EXPIRY_PREFIX));
                }
            }
        } catch (ValidationException | IllegalTransitionException refused) {
            reservations.note(c, r.id(), r.status(), "extension refused: " + refused.getMessage(), now, ReservationUpdate.of());
        }
    }

    /** A waiting reservation's new duration: it keeps its place in line; one that started meanwhile is told to extend instead. */
    private void resize(Connection c, Reservation r, Command.Resize cmd, Instant now) throws SQLException {
        String to = cmd.hours().stripTrailingZeros().toPlainString();
        if (r.status() != ReservationStatus.QUEUED) {
            reservations.note(c, r.id(), r.status(), "duration change refused: it is " + r.status().wire()
                    + " now; extend it instead (gpu-dev edit --extend HOURS)", now, ReservationUpdate.of());
            return;
        }
        reservations.note(c, r.id(), r.status(), "duration changed from " + r.durationHours().stripTrailingZeros().toPlainString() + " to "
                + to + " h by " + cmd.requestedBy() + " (it keeps its place in line)", now, ReservationUpdate.of().durationHours(cmd.hours()));
    }

    /** Whether the new end would take GPUs a booking ahead was promised (read only when bookings wait). */
    private String breaksBooking(Connection c, Reservation r, Instant end) throws SQLException {
        List<Reservation> bookings = reservations.queue().bookings(c);
        if (bookings.isEmpty()) {
            return null;
        }
        return Extension.breaksBooking(r, end, grace, capacity.get(),
                reservations.withStatus(c, false, ReservationStatus.PREPARING, ReservationStatus.ACTIVE), bookings);
    }

    private void addUser(Connection c, Reservation r, Command.AddUser cmd, Instant now) throws SQLException {
        var user = users.findByName(c, cmd.username());
        if (user.isEmpty()) {
            reservations.note(c, r.id(), r.status(), "adding user refused: no user '" + cmd.username() + "'", now, ReservationUpdate.of());
            return;
        }
        var by = users.findByName(c, cmd.requestedBy());
        if (reservationUsers.add(c, r.id(), user.get().userId(), by.map(u -> u.userId()).orElse(r.userId()))) {
            reservations.note(c, r.id(), r.status(), "user " + cmd.username() + " added by " + cmd.requestedBy(), now, ReservationUpdate.of());
        }
    }

    private void jupyter(Connection c, Reservation r, Command.Jupyter cmd, Instant now) throws SQLException {
        if (r.lifecycle().jupyter() == cmd.enable()) {
            return;
        }
        ReservationUpdate set = ReservationUpdate.of().jupyter(cmd.enable());
        if (cmd.enable() && r.lifecycle().jupyterAccess() == null) {
            set.jupyterAccess(Reservation.JupyterAccess.fresh());
        }
        reservations.note(c, r.id(), r.status(), "jupyter " + (cmd.enable() ? "enabled" : "disabled") + " by " + cmd.requestedBy(), now, set);
    }

}
