package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Users' notification webhooks and the outbox of events to deliver to them (the reservations' trigger
 * records started, ended and preempted; the sweeper the expiry warnings). The URL is a secret: it leaves
 * this class only to be delivered to, or masked.
 */
public final class Webhooks {

    /** A hook: a user's own (team null), or a team's (every reservation charged to it), registered by userId. */
    public record Hook(long id, long userId, String url, String format, Instant createdAt, String team) {
        public Hook(long id, long userId, String url, String format, Instant createdAt) {
            this(id, userId, url, format, createdAt, null);
        }

        /** The URL as it may be shown: its scheme and host, and the last 4 characters of the rest. */
        public String masked() {
            return mask(url);
        }
    }

    /** An event due for delivery, claimed for a while by the sender that read it. */
    public record Due(long eventId, Hook hook, UUID reservationId, String event, String detail, int attempts) {
    }

    /** Scheme, host and port, then "…" and the last 4 characters of the rest when it is long enough to hide the others. */
    public static String mask(String url) {
        try {
            java.net.URI u = new java.net.URI(url);
            String rest = url.substring(Math.min(url.length(), (u.getScheme() + "://" + u.getRawAuthority()).length()));
            return u.getScheme() + "://" + u.getHost() + (u.getPort() == -1 ? "" : ":" + u.getPort()) + "/…"
                    + (rest.length() > 24 ? rest.substring(rest.length() - 4) : "");
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return "…";
        }
    }

    /** Registers a user's own hook; empty when the user has this URL already. */
    public Optional<Hook> add(Connection c, long userId, String url, String format) throws SQLException {
        return add(c, userId, null, url, format);
    }

    /** Registers a hook, the user's own (team null) or a team's; empty when the user (the team) has this URL already. */
    public Optional<Hook> add(Connection c, long userId, String team, String url, String format) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into notification_hooks (user_id, team, url, format) values (?, ?, ?, ?) on conflict do nothing
                returning hook_id, created_at""")) {
            ps.setLong(1, userId);
            ps.setString(2, team);
            ps.setString(3, url);
            ps.setString(4, format);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Hook(rs.getLong(1), userId, url, format, Pgmq.instant(rs, 2), team)) : Optional.empty();
            }
        }
    }

    /** A user's own hooks. */
    public List<Hook> of(Connection c, long userId) throws SQLException {
        return read(c, "select hook_id, user_id, url, format, created_at, team from notification_hooks where user_id = ? and team is null"
                + " order by hook_id", userId);
    }

    /** A user's own hooks, then those of every team they are in. */
    public List<Hook> seenBy(Connection c, long userId) throws SQLException {
        return read(c, """
                select hook_id, user_id, url, format, created_at, team from notification_hooks
                where (team is null and user_id = ?) or team in (select m.team from team_members m where m.user_id = ?)
                order by team nulls first, hook_id""", userId, userId);
    }

    /** A team's hooks. */
    public List<Hook> ofTeam(Connection c, String team) throws SQLException {
        return read(c, "select hook_id, user_id, url, format, created_at, team from notification_hooks where team = ? order by hook_id", team);
    }

    /** One hook by its id, whoever's. */
    public Optional<Hook> find(Connection c, long hookId) throws SQLException {
        return read(c, "select hook_id, user_id, url, format, created_at, team from notification_hooks where hook_id = ?", hookId)
                .stream().findFirst();
    }

    private static List<Hook> read(Connection c, String sql, Object... args) throws SQLException {
        List<Hook> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(hook(rs, 1));
                }
            }
        }
        return out;
    }

    private static Hook hook(ResultSet rs, int from) throws SQLException {
        return new Hook(rs.getLong(from), rs.getLong(from + 1), rs.getString(from + 2), rs.getString(from + 3), Pgmq.instant(rs, from + 4),
                rs.getString(from + 5));
    }

    /** Removes a user's own hook (undelivered events go with it); false when they have none of that id. */
    public boolean remove(Connection c, long userId, long hookId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from notification_hooks where hook_id = ? and user_id = ? and team is null")) {
            ps.setLong(1, hookId);
            ps.setLong(2, userId);
            return ps.executeUpdate() == 1;
        }
    }

    /** Removes the hooks of a team that a user registered (they left the team); how many. */
    public int removeTeamHooksOf(Connection c, String team, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from notification_hooks where team = ? and user_id = ?")) {
            ps.setString(1, team);
            ps.setLong(2, userId);
            return ps.executeUpdate();
        }
    }

    /** Removes a team's hook; false when the team has none of that id. */
    public boolean removeOfTeam(Connection c, String team, long hookId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from notification_hooks where hook_id = ? and team = ?")) {
            ps.setLong(1, hookId);
            ps.setString(2, team);
            return ps.executeUpdate() == 1;
        }
    }

    /** An event for every hook of a reservation's owner, and of the team it is charged to (in the caller's transaction). */
    public void enqueue(Connection c, long userId, String team, UUID reservationId, String event, String detailJson) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into notification_outbox (hook_id, reservation_id, event, detail)
                select hook_id, ?, ?, ?::jsonb from notification_hooks
                where (team is null and user_id = ?) or (team is not null and team = ?)""")) {
            ps.setObject(1, reservationId);
            ps.setString(2, event);
            ps.setString(3, detailJson);
            ps.setLong(4, userId);
            ps.setString(5, team);
            ps.executeUpdate();
        }
    }

    /**
     * Waiting reservations whose first estimated start is more than {@code margin} past: each is marked
     * told (once) and its owner's webhooks get a "late" event, in one statement; how many were late.
     */
    public int late(Connection c, Instant now, java.time.Duration margin) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                with late as (update reservations set late_notified_at = ?
                              where status = 'queued' and late_notified_at is null and first_estimated_start_at is not null
                                and first_estimated_start_at < ?
                              returning reservation_id, user_id, team, first_estimated_start_at),
                     told as (insert into notification_outbox (hook_id, reservation_id, event, detail)
                              select h.hook_id, l.reservation_id, 'late', jsonb_build_object('first_estimate', l.first_estimated_start_at)
                              from late l join notification_hooks h
                                on (h.team is null and h.user_id = l.user_id) or (h.team is not null and h.team = l.team))
                select count(*) from late""")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setTimestamp(2, Timestamp.from(now.minus(margin)));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * Claims up to {@code limit} events due now for {@code lease} (another sender skips them meanwhile),
     * oldest first.
     */
    public List<Due> claim(Connection c, Instant now, java.time.Duration lease, int limit) throws SQLException {
        List<Due> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                with due as (select event_id from notification_outbox o where sent_at is null and next_at <= ?
                               -- one hook's events in order: none while an older one of that hook waits for its retry
                               and not exists (select 1 from notification_outbox e where e.hook_id = o.hook_id and e.sent_at is null
                                               and e.event_id < o.event_id and e.next_at <> 'infinity')
                             order by next_at, event_id limit ? for update skip locked)
                update notification_outbox o set next_at = ? from due, notification_hooks h
                where o.event_id = due.event_id and h.hook_id = o.hook_id
                returning o.event_id, h.hook_id, h.user_id, h.url, h.format, h.created_at, h.team, o.reservation_id, o.event, o.detail::text,
                          o.attempts""")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setInt(2, limit);
            ps.setTimestamp(3, Timestamp.from(now.plus(lease)));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Due(rs.getLong(1), hook(rs, 2), rs.getObject(8, UUID.class), rs.getString(9), rs.getString(10), rs.getInt(11)));
                }
            }
        }
        return out;
    }

    /** Delivered. */
    public void sent(Connection c, long eventId, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update notification_outbox set sent_at = ?, attempts = attempts + 1 where event_id = ?")) {
            ps.setTimestamp(1, Timestamp.from(at));
            ps.setLong(2, eventId);
            ps.executeUpdate();
        }
    }

    /** Not delivered: tried again at {@code next}, or (null) given up; the error kept (it names no secret). */
    public void failed(Connection c, long eventId, Instant next, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update notification_outbox set attempts = attempts + 1, last_error = ?,
                    next_at = coalesce(?, 'infinity'::timestamptz) where event_id = ?""")) {
            ps.setString(1, error.length() > 500 ? error.substring(0, 500) : error);
            ps.setTimestamp(2, next == null ? null : Timestamp.from(next));
            ps.setLong(3, eventId);
            ps.executeUpdate();
        }
    }

    /** The outbox's rows of a reservation, oldest first (for tests and the operator): event, attempts, sent or not, last error. */
    public record Delivery(String event, int attempts, boolean sent, String lastError) {
    }

    public List<Delivery> deliveries(Connection c, UUID reservationId) throws SQLException {
        List<Delivery> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "select event, attempts, sent_at is not null, last_error from notification_outbox where reservation_id = ? order by event_id")) {
            ps.setObject(1, reservationId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Delivery(rs.getString(1), rs.getInt(2), rs.getBoolean(3), rs.getString(4)));
                }
            }
        }
        return out;
    }
}
