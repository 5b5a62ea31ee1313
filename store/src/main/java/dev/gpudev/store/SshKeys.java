package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** ssh_keys: the public keys a user logs in with, through the proxy and into environments. */
public final class SshKeys {

    public record SshKey(long id, long userId, String keyType, String publicKey, String fingerprint, String comment,
                         Instant createdAt) {
    }

    /** Adds the key, or returns the one the user already has with the same fingerprint. */
    public SshKey add(Connection c, long userId, String type, String publicKey, String fingerprint, String comment)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into ssh_keys (user_id, key_type, public_key, fingerprint, comment) values (?, ?, ?, ?, ?)
                on conflict (user_id, fingerprint) do nothing""")) {
            ps.setLong(1, userId);
            ps.setString(2, type);
            ps.setString(3, publicKey);
            ps.setString(4, fingerprint);
            ps.setString(5, comment);
            ps.executeUpdate();
        }
        return forUser(c, userId).stream().filter(k -> k.fingerprint().equals(fingerprint)).findFirst().orElseThrow();
    }

    public List<SshKey> forUser(Connection c, long userId) throws SQLException {
        return list(c, "select * from ssh_keys where user_id = ? order by ssh_key_id", userId);
    }

    /**
     * The public keys that may log in to each of these reservations: the owner's, then those of every
     * user added to it (a disabled user's are not among them), in one query for all of them.
     */
    public java.util.Map<java.util.UUID, List<String>> forReservations(Connection c, java.util.Collection<java.util.UUID> ids)
            throws SQLException {
        java.util.Map<java.util.UUID, List<String>> out = new java.util.HashMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                select reservation_id, public_key from (
                    select r.reservation_id, 0 as grp, r.created_at as added, k.ssh_key_id, k.public_key
                    from reservations r join ssh_keys k on k.user_id = r.user_id
                    join api_users u on u.user_id = r.user_id and u.is_active where r.reservation_id = any(?)
                    union all
                    select ru.reservation_id, 1, ru.added_at, k.ssh_key_id, k.public_key
                    from reservation_users ru join ssh_keys k on k.user_id = ru.user_id
                    join api_users u on u.user_id = ru.user_id and u.is_active where ru.reservation_id = any(?)
                ) keys order by reservation_id, grp, added, ssh_key_id""")) {
            var array = c.createArrayOf("uuid", ids.toArray());
            ps.setArray(1, array);
            ps.setArray(2, array);
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getObject(1, java.util.UUID.class), k -> new java.util.ArrayList<>()).add(rs.getString(2));
                }
            }
        }
        return out;
    }

    public List<SshKey> forUsername(Connection c, String username) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select k.* from ssh_keys k join api_users u on u.user_id = k.user_id
                where u.username = ? and u.is_active order by k.ssh_key_id""")) {
            ps.setString(1, username);
            return rows(ps);
        }
    }

    /** Deletes a key of that user; userId null deletes anyone's (admins). */
    public boolean delete(Connection c, Long userId, long keyId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "delete from ssh_keys where (?::int is null or user_id = ?::int) and ssh_key_id = ?")) {
            ps.setObject(1, userId);
            ps.setObject(2, userId);
            ps.setLong(3, keyId);
            return ps.executeUpdate() > 0;
        }
    }

    private static List<SshKey> list(Connection c, String sql, long arg) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, arg);
            return rows(ps);
        }
    }

    private static List<SshKey> rows(PreparedStatement ps) throws SQLException {
        List<SshKey> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new SshKey(rs.getLong("ssh_key_id"), rs.getLong("user_id"), rs.getString("key_type"),
                        rs.getString("public_key"), rs.getString("fingerprint"), rs.getString("comment"),
                        Pgmq.instant(rs, rs.findColumn("created_at"))));
            }
        }
        return out;
    }
}
