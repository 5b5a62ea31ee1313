package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * disks and disk_operations: a user's named persistent disks, each with a stable id (its files are
 * found by the id, so a rename changes only the name), and the operations that need their files.
 */
public final class Disks {

    public record Disk(long id, long userId, String name, Instant createdAt, Instant lastUsedAt) {
    }

    private static final String SELECT = "select disk_id, user_id, name, created_at, last_used_at from disks";

    public List<Disk> forUser(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where user_id = ? order by name")) {
            ps.setLong(1, userId);
            return rows(ps);
        }
    }

    /** The user's disk of that name, its row locked until the transaction ends. */
    public Optional<Disk> lock(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where user_id = ? and name = ? for update")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            return rows(ps).stream().findFirst();
        }
    }

    public boolean delete(Connection c, long diskId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from disks where disk_id = ?")) {
            ps.setLong(1, diskId);
            return ps.executeUpdate() > 0;
        }
    }

    /** Records the disk (created on its first use) and when it was last asked for; returns its id. */
    /** The availability zone a user's disk lives in, once its volume was made (empty: not known, or no such disk). */
    public Optional<String> zone(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select zone from disks where user_id = ? and name = ? and zone is not null")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    /** Records the zone a disk's volume was made in (its first node's), when none is recorded yet. */
    public boolean recordZone(Connection c, long diskId, String zone) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update disks set zone = ? where disk_id = ? and zone is null")) {
            ps.setString(1, zone);
            ps.setLong(2, diskId);
            return ps.executeUpdate() == 1;
        }
    }

    public long use(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into disks (user_id, name, last_used_at) values (?, ?, now())
                on conflict (user_id, name) do update set last_used_at = now() returning disk_id""")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public void rename(Connection c, long diskId, String to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update disks set name = ? where disk_id = ?")) {
            ps.setString(1, to);
            ps.setLong(2, diskId);
            ps.executeUpdate();
        }
    }

    private static List<Disk> rows(PreparedStatement ps) throws SQLException {
        List<Disk> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Disk(rs.getLong(1), rs.getLong(2), rs.getString(3), Pgmq.instant(rs, 4), Pgmq.instant(rs, 5)));
            }
        }
        return out;
    }

    /** A disk with its owner's name (for a backend that once kept disks under it). */
    public record Owned(long id, long userId, String username, String name) {
    }

    /** Every disk, with its owner's name. */
    public List<Owned> all(Connection c) throws SQLException {
        List<Owned> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                select d.disk_id, d.user_id, u.username, d.name from disks d join api_users u on u.user_id = d.user_id order by d.disk_id""");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Owned(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
            }
        }
        return out;
    }

    /** A rename or a listing of a disk's files, carried out by the processor. */
    public record Operation(long id, long userId, String username, long diskId, String disk, String operation, String argument,
                            String status, String resultJson, String error, Instant createdAt, Instant finishedAt) {
    }

    /** Records a requested operation; the caller sends the command that names it, in the same transaction. */
    public long requestOperation(Connection c, Disk disk, String operation, String argument) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into disk_operations (user_id, disk_id, disk_name, operation, argument) values (?, ?, ?, ?, ?)
                returning operation_id""")) {
            ps.setLong(1, disk.userId());
            ps.setLong(2, disk.id());
            ps.setString(3, disk.name());
            ps.setString(4, operation);
            ps.setString(5, argument);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Whether a rename of this disk is still to be carried out. */
    public boolean renamePending(Connection c, long diskId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select 1 from disk_operations where disk_id = ? and status = 'pending' and operation = 'rename'""")) {
            ps.setLong(1, diskId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Operations still to be carried out, oldest first (at most {@code limit}): what a processor that starts, or looks again, takes up. */
    public List<Operation> pendingOperations(Connection c, int limit) throws SQLException {
        List<Operation> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(OPERATION_SELECT + " where o.status = 'pending' order by o.operation_id limit ?")) {
            ps.setInt(1, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(operation(rs));
                }
            }
        }
        return out;
    }

    private static final String OPERATION_SELECT = """
            select o.operation_id, o.user_id, u.username, coalesce(o.disk_id, 0), o.disk_name, o.operation, o.argument, o.status,
                   o.result::text, o.error, o.created_at, o.finished_at
            from disk_operations o join api_users u on u.user_id = o.user_id""";

    private static Operation operation(ResultSet rs) throws SQLException {
        return new Operation(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getString(5),
                rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), rs.getString(10), Pgmq.instant(rs, 11),
                Pgmq.instant(rs, 12));
    }

    /** An operation; userId null finds anyone's (admins), otherwise only that user's. */
    public Optional<Operation> operation(Connection c, Long userId, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(OPERATION_SELECT + " where o.operation_id = ? and (?::int is null or o.user_id = ?::int)")) {
            ps.setLong(1, id);
            ps.setObject(2, userId);
            ps.setObject(3, userId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(operation(rs)) : Optional.empty();
            }
        }
    }

    /** Records the outcome of a pending operation (a second outcome is ignored: redelivered commands). */
    public void finish(Connection c, long id, boolean ok, String resultJson, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update disk_operations set status = ?, result = ?::jsonb, error = ?, finished_at = now()
                where operation_id = ? and status = 'pending'""")) {
            ps.setString(1, ok ? "done" : "failed");
            ps.setString(2, resultJson);
            ps.setString(3, error);
            ps.setLong(4, id);
            ps.executeUpdate();
        }
    }
}
