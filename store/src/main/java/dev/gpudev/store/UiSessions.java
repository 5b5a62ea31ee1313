package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * The dashboard's logins: one-time login links (made with an API key, used once by a browser) and the
 * browser sessions they open. Only SHA-256 hashes of links and session cookies are stored.
 */
public final class UiSessions {

    /** A live session and who it is for (the same facts an API key lookup gives). */
    public record Session(long userId, String username, boolean admin, boolean userActive, String csrfToken, Instant createdAt,
                          Instant expiresAt, Instant lastSeenAt) {
    }

    /** A login link asked for with an API key (keyId): the session it makes lives no longer than that key. */
    public void createLink(Connection c, String tokenHash, long userId, long keyId, Instant now, Instant expiresAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into ui_login_links (token_hash, user_id, created_at, expires_at, key_id) values (?, ?, ?, ?, ?)""")) {
            ps.setString(1, tokenHash);
            ps.setLong(2, userId);
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setTimestamp(4, Timestamp.from(expiresAt));
            ps.setObject(5, keyId > 0 ? keyId : null);
            ps.executeUpdate();
        }
        // Links live minutes: whoever makes one sweeps those long over.
        try (PreparedStatement ps = c.prepareStatement("delete from ui_login_links where expires_at < ?")) {
            ps.setTimestamp(1, Timestamp.from(now.minusSeconds(3600)));
            ps.executeUpdate();
        }
    }

    /** How using a link went. */
    public sealed interface Redeemed {
        /** @param keyId the key that asked for the link (0: none) */
        record Ok(long userId, long keyId) implements Redeemed {
        }

        record Unknown() implements Redeemed {
        }

        record Used() implements Redeemed {
        }

        record Expired() implements Redeemed {
        }
    }

    /** Uses a link once: the row is locked, so two browsers racing with one link cannot both get a session. */
    public Redeemed redeem(Connection c, String tokenHash, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select user_id, expires_at, used_at, coalesce(key_id, 0) from ui_login_links where token_hash = ? for update")) {
            ps.setString(1, tokenHash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Redeemed.Unknown();
                }
                if (rs.getObject(3) != null) {
                    return new Redeemed.Used();
                }
                if (!Pgmq.instant(rs, 2).isAfter(now)) {
                    return new Redeemed.Expired();
                }
                long userId = rs.getLong(1);
                long keyId = rs.getLong(4);
                try (PreparedStatement up = c.prepareStatement("update ui_login_links set used_at = ? where token_hash = ?")) {
                    up.setTimestamp(1, Timestamp.from(now));
                    up.setString(2, tokenHash);
                    up.executeUpdate();
                }
                return new Redeemed.Ok(userId, keyId);
            }
        }
    }

    /** A session for a user, made from a link the key keyId asked for (0: none): it ends when that key is revoked. */
    public void createSession(Connection c, String sessionHash, long userId, long keyId, String csrfToken, Instant now, Instant expiresAt)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into ui_sessions (session_hash, user_id, csrf_token, created_at, expires_at, last_seen_at, key_id)
                values (?, ?, ?, ?, ?, ?, ?)""")) {
            ps.setString(1, sessionHash);
            ps.setLong(2, userId);
            ps.setString(3, csrfToken);
            ps.setTimestamp(4, Timestamp.from(now));
            ps.setTimestamp(5, Timestamp.from(expiresAt));
            ps.setTimestamp(6, Timestamp.from(now));
            ps.setObject(7, keyId > 0 ? keyId : null);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("delete from ui_sessions where expires_at < ?")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.executeUpdate();
        }
    }

    /** The session of a cookie, with its user, in one query; expired ones, and those whose key was revoked, are not found. */
    public Optional<Session> find(Connection c, String sessionHash, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select s.user_id, u.username, exists(select 1 from user_roles r where r.user_id = u.user_id and r.role = 'admin'),
                       coalesce(u.is_active, false), s.csrf_token, s.created_at, s.expires_at, s.last_seen_at
                from ui_sessions s join api_users u on u.user_id = s.user_id where s.session_hash = ? and s.expires_at > ?
                  and (s.key_id is null or exists (select 1 from api_keys k where k.key_id = s.key_id and k.is_active))""")) {
            ps.setString(1, sessionHash);
            ps.setTimestamp(2, Timestamp.from(now));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Session(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4), rs.getString(5),
                        Pgmq.instant(rs, 6), Pgmq.instant(rs, 7), Pgmq.instant(rs, 8)));
            }
        }
    }

    /** A session used again: an idle session ends {@code idle} after this, never later than it was made to. */
    public void touch(Connection c, String sessionHash, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update ui_sessions set last_seen_at = ? where session_hash = ?")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setString(2, sessionHash);
            ps.executeUpdate();
        }
    }

    /** Ends a session (logging out): the name of its user, or null if there was none. */
    public String endNamed(Connection c, String sessionHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                delete from ui_sessions s using api_users u where s.session_hash = ? and u.user_id = s.user_id returning u.username""")) {
            ps.setString(1, sessionHash);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** Ends every session of a user (the account was disabled); how many ended. */
    public int endAll(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from ui_sessions where user_id = ?")) {
            ps.setLong(1, userId);
            return ps.executeUpdate();
        }
    }

    /** Ends every session of the user whose key this is, unless that user is {@code exceptUserId}; how many ended. */
    public int endForKeyOwnerOtherThan(Connection c, long keyId, long exceptUserId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                delete from ui_sessions where user_id = (select user_id from api_keys where key_id = ?) and user_id <> ?""")) {
            ps.setLong(1, keyId);
            ps.setLong(2, exceptUserId);
            return ps.executeUpdate();
        }
    }

    /** Ends a session (logging out); true if there was one. */
    public boolean end(Connection c, String sessionHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from ui_sessions where session_hash = ?")) {
            ps.setString(1, sessionHash);
            return ps.executeUpdate() > 0;
        }
    }
}
