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
}
