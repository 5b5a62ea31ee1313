package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/** The disks table: a user's named persistent disks. */
public final class Disks {

    /** A disk and the live reservation using it as home, if any. */
    public record Disk(String name, java.time.Instant createdAt, java.time.Instant lastUsedAt, java.util.UUID inUseBy) {
    }

    public java.util.List<Disk> forUser(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select d.name, d.created_at, d.last_used_at,
                       (select r.reservation_id from reservations r where r.user_id = d.user_id and r.disk_name = d.name
                          and r.status in ('preparing', 'active') limit 1) as in_use_by
                from disks d where d.user_id = ? order by d.name""")) {
            ps.setLong(1, userId);
            java.util.List<Disk> out = new java.util.ArrayList<>();
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Disk(rs.getString(1), Pgmq.instant(rs, 2), Pgmq.instant(rs, 3), rs.getObject(4, java.util.UUID.class)));
                }
            }
            return out;
        }
    }

    /** Whether a live or waiting reservation of the user names this disk. */
    public boolean wanted(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select 1 from reservations where user_id = ? and disk_name = ? and status in ('queued', 'preparing', 'active')""")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            try (var rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public boolean delete(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from disks where user_id = ? and name = ?")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            return ps.executeUpdate() > 0;
        }
    }
    /** Records the disk (created on its first use) and when it was last asked for. */
    public void use(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into disks (user_id, name, last_used_at) values (?, ?, now())
                on conflict (user_id, name) do update set last_used_at = now()""")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            ps.executeUpdate();
        }
    }

    /** A rename or a listing of a disk's files, carried out by the processor. */
    public record Operation(long id, long userId, String username, String disk, String operation, String argument, String status,
                            String resultJson, String error, java.time.Instant createdAt, java.time.Instant finishedAt) {
    }

    /** Records a requested operation; the caller sends the command that names it, in the same transaction. */
    public long requestOperation(Connection c, long userId, String disk, String operation, String argument) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into disk_operations (user_id, disk_name, operation, argument) values (?, ?, ?, ?) returning operation_id""")) {
            ps.setLong(1, userId);
            ps.setString(2, disk);
            ps.setString(3, operation);
            ps.setString(4, argument);
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Whether a rename of this disk is still to be carried out. */
    public boolean renamePending(Connection c, long userId, String disk) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select 1 from disk_operations where user_id = ? and disk_name = ? and status = 'pending' and operation = 'rename'""")) {
            ps.setLong(1, userId);
            ps.setString(2, disk);
            try (var rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** An operation; userId null finds anyone's (admins), otherwise only that user's. */
    public java.util.Optional<Operation> operation(Connection c, Long userId, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select o.operation_id, o.user_id, u.username, o.disk_name, o.operation, o.argument, o.status, o.result::text,
                       o.error, o.created_at, o.finished_at
                from disk_operations o join api_users u on u.user_id = o.user_id
                where o.operation_id = ? and (?::int is null or o.user_id = ?::int)""")) {
            ps.setLong(1, id);
            ps.setObject(2, userId);
            ps.setObject(3, userId);
            try (var rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return java.util.Optional.empty();
                }
                return java.util.Optional.of(new Operation(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9), Pgmq.instant(rs, 10),
                        Pgmq.instant(rs, 11)));
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

    /** Whether the user has a disk of that name (locking its row, when there is one, until the transaction ends). */
    public boolean lockIfExists(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select 1 from disks where user_id = ? and name = ? for update")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            try (var rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    public void rename(Connection c, long userId, String from, String to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update disks set name = ? where user_id = ? and name = ?")) {
            ps.setString(1, to);
            ps.setLong(2, userId);
            ps.setString(3, from);
            ps.executeUpdate();
        }
    }
}
