package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/** The disks table: a user's named persistent disks. */
public final class Disks {
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
