package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * api_keys: only SHA-256 hashes and an 8-character prefix are ever stored. Every revocation is
 * announced on {@link #CHANNEL} in its transaction, so that API replicas caching checked keys drop them
 * when it commits.
 */
public final class ApiKeys {
    /** NOTIFY channel: some key stopped being valid. */
    public static final String CHANNEL = "gpudev_keys";

    static void announce(Connection c) throws SQLException {
        try (var st = c.createStatement()) {
            st.execute("select pg_notify('" + CHANNEL + "', '')");
        }
    }

    public record Key(long keyId, long userId, String keyPrefix, Instant createdAt, Instant expiresAt,
                      Instant lastUsedAt, boolean active, boolean userActive, String username, boolean admin) {
        /** The same key, last used then. */
        public Key usedAt(Instant when) {
            return new Key(keyId, userId, keyPrefix, createdAt, expiresAt, when, active, userActive, username, admin);
        }
    }

    public long insert(Connection c, long userId, String keyHash, String prefix, Instant expiresAt, String description)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into api_keys (user_id, key_hash, key_prefix, expires_at, description)
                values (?, ?, ?, ?, ?) returning key_id""")) {
            ps.setLong(1, userId);
            ps.setString(2, keyHash);
            ps.setString(3, prefix);
            ps.setTimestamp(4, Timestamp.from(expiresAt));
            ps.setString(5, description);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** A key with its user and whether that user is an admin: what every listing of keys reads. */
    private static final String SELECT = """
            select k.key_id, k.user_id, k.key_prefix, k.created_at, k.expires_at, k.last_used_at,
                   coalesce(k.is_active, false), coalesce(u.is_active, false), u.username,
                   exists(select 1 from user_roles r where r.user_id = u.user_id and r.role = 'admin')
            from api_keys k join api_users u on u.user_id = k.user_id""";

    private static List<Key> keys(PreparedStatement ps) throws SQLException {
        List<Key> out = new java.util.ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Key(rs.getLong(1), rs.getLong(2), rs.getString(3), Pgmq.instant(rs, 4),
                        Pgmq.instant(rs, 5), Pgmq.instant(rs, 6), rs.getBoolean(7), rs.getBoolean(8), rs.getString(9), rs.getBoolean(10)));
            }
        }
        return out;
    }

    public Optional<Key> findByHash(Connection c, String keyHash) throws SQLException {
        // One round trip per request: the key, its user and whether that user is an admin.
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where k.key_hash = ?")) {
            ps.setString(1, keyHash);
            return keys(ps).stream().findFirst();
        }
    }

    public List<Key> forUser(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where k.user_id = ? order by k.key_id desc limit 200")) {
            ps.setLong(1, userId);
            return keys(ps);
        }
    }

    /** Revokes a key; with userId null any key (admins), else only that user's. */
    public boolean revoke(Connection c, long keyId, Long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "update api_keys set is_active = false where key_id = ? and is_active and (?::int is null or user_id = ?::int)")) {
            ps.setLong(1, keyId);
            ps.setObject(2, userId);
            ps.setObject(3, userId);
            if (ps.executeUpdate() == 0) {
                return false;
            }
        }
        announce(c);
        return true;
    }

    /** Revokes a user's live keys but the newest {@code keep} (each new key past it ends the oldest). */
    public int keepNewest(Connection c, long userId, int keep, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update api_keys set is_active = false
                where user_id = ? and is_active and (expires_at is null or expires_at > ?) and key_id not in (
                    select key_id from api_keys where user_id = ? and is_active and (expires_at is null or expires_at > ?)
                    order by key_id desc limit ?)""")) {
            ps.setLong(1, userId);
            ps.setTimestamp(2, Timestamp.from(now));
            ps.setLong(3, userId);
            ps.setTimestamp(4, Timestamp.from(now));
            ps.setInt(5, keep);
            int revoked = ps.executeUpdate();
            if (revoked > 0) {
                announce(c);
            }
            return revoked;
        }
    }

    /** Records use at most once a minute per key, so checking a key is not a write per request. */
    public void touch(Connection c, long keyId, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update api_keys set last_used_at = ?
                where key_id = ? and (last_used_at is null or last_used_at < ?)""")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setLong(2, keyId);
            ps.setTimestamp(3, Timestamp.from(now.minusSeconds(60)));
            ps.executeUpdate();
        }
    }

    /** Every user's live keys (active, not expired), newest first: what admins may revoke. */
    public List<Key> live(Connection c, Instant now, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT
                + " where k.is_active and (k.expires_at is null or k.expires_at > ?) order by k.key_id desc limit ?")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setInt(2, limit);
            return keys(ps);
        }
    }
}
