package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Who schedules now, and how many passes there have been. One replica schedules at a time (a
 * transaction-scoped advisory lock); every pass bumps an epoch, so a replica that kept its last plan
 * knows whether another one scheduled since.
 */
public final class SchedulerState {
    private static final long LOCK = 0x67707564L;

    /** Takes the scheduling lock for this transaction if no other replica holds it. */
    public boolean tryLock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pg_try_advisory_xact_lock(?)")) {
            ps.setLong(1, LOCK);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** Waits for the scheduling lock (a disk rename must not race an admission of that disk). */
    public void lock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pg_advisory_xact_lock(?)")) {
            ps.setLong(1, LOCK);
            ps.execute();
        }
    }

    /** Counts a scheduling pass; returns its number. */
    public long nextEpoch(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update scheduler_state set epoch = epoch + 1 returning epoch");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
