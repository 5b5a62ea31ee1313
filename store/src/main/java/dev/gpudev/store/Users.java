package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/** api_users, user_roles and invites. */
public final class Users {
    private static final String SELECT = """
            select u.user_id, u.username, u.email, u.created_at, u.is_active,
                   exists(select 1 from user_roles r where r.user_id = u.user_id and r.role = 'admin') as admin
            from api_users u""";

    public record Invite(long inviteId, String username, boolean admin, boolean reusable, Instant expiresAt, Instant usedAt) {
    }

    /**
     * Disables or enables a user; their keys stop (or work again) at once: API replicas caching checked keys
     * are told to forget them when this commits. The user's id, or empty when there is no such user.
     */
    public Optional<Long> setActive(Connection c, String username, boolean active) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update api_users set is_active = ? where username = ? returning user_id")) {
            ps.setBoolean(1, active);
            ps.setString(2, username);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                long id = rs.getLong(1);
                ApiKeys.announce(c);
                return Optional.of(id);
            }
        }
    }

    public Optional<User> findByName(Connection c, String username) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where u.username = ?")) {
            ps.setString(1, username);
            return one(ps);
        }
    }

    public Optional<User> findById(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where u.user_id = ?")) {
            ps.setLong(1, userId);
            return one(ps);
        }
    }

    /** The user of that name, created if new; an admin invite also grants the role. */
    public User ensure(Connection c, String username, boolean admin) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "insert into api_users (username) values (?) on conflict (username) do nothing")) {
            ps.setString(1, username);
            ps.executeUpdate();
        }
        User user = findByName(c, username).orElseThrow();
        if (admin && !user.admin()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "insert into user_roles (user_id, role) values (?, 'admin') on conflict do nothing")) {
                ps.setLong(1, user.userId());
                ps.executeUpdate();
            }
            user = findByName(c, username).orElseThrow();
        }
        return user;
    }

    /** What an AWS identity may sign in to. */
    public sealed interface AwsSignIn {
        record Ok(User user) implements AwsSignIn {
        }

        /** A user of that name exists and is not this identity's: made by an invitation, or by another principal. */
        record Taken(String username, boolean byInvitation) implements AwsSignIn {
        }
    }

    /**
     * The user an AWS identity signs in to: the one it made before, or a new one of that name made now
     * and bound to it. Never a user made otherwise, nor another principal's.
     */
    public AwsSignIn ensureAws(Connection c, String username, String principal) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "insert into api_users (username, aws_principal) values (?, ?) on conflict do nothing")) {
            ps.setString(1, username);
            ps.setString(2, principal);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("select aws_principal from api_users where username = ?")) {
            ps.setString(1, username);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    // The principal is bound to a user of another name (an old cleaning rule): not this one.
                    return new AwsSignIn.Taken(username, false);
                }
                String bound = rs.getString(1);
                if (!principal.equals(bound)) {
                    return new AwsSignIn.Taken(username, bound == null);
                }
            }
        }
        return new AwsSignIn.Ok(findByName(c, username).orElseThrow());
    }

    public void createInvite(Connection c, String tokenHash, String username, boolean admin, boolean reusable,
                             Long createdBy, Instant expiresAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into invites (token_hash, username, is_admin, reusable, created_by, expires_at)
                values (?, ?, ?, ?, ?, ?)""")) {
            ps.setString(1, tokenHash);
            ps.setString(2, username);
            ps.setBoolean(3, admin);
            ps.setBoolean(4, reusable);
            ps.setObject(5, createdBy);
            ps.setObject(6, expiresAt == null ? null : java.sql.Timestamp.from(expiresAt));
            ps.executeUpdate();
        }
    }

    /** Locks the invite row so two logins with one token cannot both use it. */
    public Optional<Invite> lockInvite(Connection c, String tokenHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select invite_id, username, is_admin, reusable, expires_at, used_at
                from invites where token_hash = ? for update""")) {
            ps.setString(1, tokenHash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Invite(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4),
                        Pgmq.instant(rs, 5), Pgmq.instant(rs, 6)));
            }
        }
    }

    public void markInviteUsed(Connection c, long inviteId, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update invites set used_at = ? where invite_id = ?")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(now));
            ps.setLong(2, inviteId);
            ps.executeUpdate();
        }
    }

    /** Whether any admin exists (then no bootstrap token is made at start). */
    public boolean hasAdmin(Connection c) throws SQLException {
        try (var rs = c.createStatement().executeQuery("select 1 from user_roles where role = 'admin' limit 1")) {
            return rs.next();
        }
    }

    /** Whether an admin invite can still be used (not used, not expired). */
    public boolean hasOpenAdminInvite(Connection c, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select 1 from invites where is_admin and used_at is null and (expires_at is null or expires_at > ?) limit 1")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(now));
            try (var rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static Optional<User> one(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return Optional.empty();
            }
            return Optional.of(new User(rs.getLong(1), rs.getString(2), rs.getString(3), Pgmq.instant(rs, 4),
                    rs.getBoolean(5), rs.getBoolean(6)));
        }
    }

    /** A user as admins see them: how they log in and their live keys. */
    public record Listed(long userId, String username, boolean admin, boolean active, Instant createdAt, String awsPrincipal,
                         int liveKeys, Instant lastUsedAt) {
        /** How this user logs in: with their AWS identity, or with tokens an admin gives them. */
        public String loginMethod() {
            return awsPrincipal != null ? "aws" : "token";
        }
    }

    /** Every user, by name, with their live keys counted and the last time one was used. */
    public java.util.List<Listed> all(Connection c, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select u.user_id, u.username, exists(select 1 from user_roles r where r.user_id = u.user_id and r.role = 'admin'),
                       coalesce(u.is_active, false), u.created_at, u.aws_principal,
                       count(k.key_id) filter (where k.is_active and (k.expires_at is null or k.expires_at > ?)), max(k.last_used_at)
                from api_users u left join api_keys k on k.user_id = u.user_id
                group by u.user_id order by u.username limit 5000""")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(now));
            java.util.List<Listed> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Listed(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4), Pgmq.instant(rs, 5),
                            rs.getString(6), rs.getInt(7), Pgmq.instant(rs, 8)));
                }
            }
            return out;
        }
    }

    /** An invitation as admins see it (never its token: only its hash is stored). */
    public record Invitation(long inviteId, String username, boolean admin, String createdBy, Instant createdAt, Instant expiresAt,
                             Instant usedAt) {
    }

    /** Invitations, newest first. */
    public java.util.List<Invitation> invitations(Connection c, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select i.invite_id, i.username, i.is_admin, b.username, i.created_at, i.expires_at, i.used_at
                from invites i left join api_users b on b.user_id = i.created_by order by i.invite_id desc limit ?""")) {
            ps.setInt(1, limit);
            java.util.List<Invitation> out = new java.util.ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Invitation(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getString(4), Pgmq.instant(rs, 5),
                            Pgmq.instant(rs, 6), Pgmq.instant(rs, 7)));
                }
            }
            return out;
        }
    }
}
