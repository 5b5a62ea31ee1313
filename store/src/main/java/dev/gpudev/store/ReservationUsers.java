package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** reservation_users: who else may read a reservation and connect to it. */
public final class ReservationUsers {

    /** Gives another user access (reading and connecting); adding twice is one addition. */
    public boolean add(Connection c, UUID reservationId, long userId, long addedBy) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into reservation_users (reservation_id, user_id, added_by) values (?, ?, ?) on conflict do nothing""")) {
            ps.setObject(1, reservationId);
            ps.setLong(2, userId);
            ps.setLong(3, addedBy);
            return ps.executeUpdate() > 0;
        }
    }

    /** The users added to a reservation (not its owner), in the order they were added. */
    public List<Long> of(Connection c, UUID reservationId) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select user_id from reservation_users where reservation_id = ? order by added_at")) {
            ps.setObject(1, reservationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    /** The live reservations this user was added to. */
    public java.util.Set<UUID> liveSharedWith(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select ru.reservation_id from reservation_users ru join reservations r on r.reservation_id = ru.reservation_id
                where ru.user_id = ? and r.status in ('queued', 'preparing', 'active')""")) {
            ps.setLong(1, userId);
            java.util.Set<UUID> out = new java.util.HashSet<>();
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
            }
            return out;
        }
    }
}
