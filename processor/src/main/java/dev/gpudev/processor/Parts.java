package dev.gpudev.processor;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Leases;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.ProxySessions;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SchedulerState;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.UsageSamples;
import dev.gpudev.store.Users;

import java.time.Clock;

/** The processor's collaborators, grouped so that constructors stay short; wired in {@code server}. */
public record Parts(Database db, Pgmq pgmq, CommandQueue commands, Reservations reservations, ReservationUsers reservationUsers,
                    SshKeys sshKeys, Users users, Disks disks, SchedulerState schedulerState, CapacityTable capacityTable,
                    ProxySessions proxySessions, UsageSamples usageSamples, Leases leases, Backend backend, Clock clock) {

    /** The store's repositories are stateless: one of each, for a database, a queue, a backend and a clock. */
    public static Parts of(Database db, Pgmq pgmq, CommandQueue commands, Backend backend, Clock clock) {
        return new Parts(db, pgmq, commands, new Reservations(), new ReservationUsers(), new SshKeys(), new Users(), new Disks(),
                new SchedulerState(), new CapacityTable(), new ProxySessions(), new UsageSamples(), new Leases(), backend, clock);
    }
}
