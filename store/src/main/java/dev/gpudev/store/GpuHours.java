package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * GPU-hours used: a reservation uses its GPUs from when it became active ({@code launched_at}) until
 * it ended ({@code status_changed_at} of its final state), or until now while it runs. And the users'
 * fair shares.
 */
public final class GpuHours {
    /** Older usage is below 0.1 % of its weight: not worth reading. */
    private static final int HALF_LIVES_KEPT = 10;

    /**
     * Each user's GPU-hours decayed to {@code now} with this half-life (one aggregate query, the integral
     * that {@code FairShare.decayedGpuHours} computes, per reservation; a preemptible one's count a
     * quarter): users with none are absent.
     */
    public Map<Long, Double> decayed(Connection c, Instant now, Duration halfLife) throws SQLException {
        Map<Long, Double> out = new HashMap<>();
        for (var u : uses(c, now, halfLife)) {
            out.merge(u.user(), u.gpuHours(), Double::sum);
        }
        return out;
    }

    /** Each class's usage weight as SQL (class names are [a-z0-9-] only: see PriorityClass). */
    private static String weights() {
        StringBuilder sql = new StringBuilder("(case priority_class");
        for (var p : dev.gpudev.core.PriorityClass.all()) {
            if (p.usageWeight() != 1) {
                sql.append(" when '").append(p.wire()).append("' then ").append(p.usageWeight());
            }
        }
        return sql.append(" else 1 end)").toString();
    }

    /** The same per user and the team each reservation was charged to (null: none). */
    public List<dev.gpudev.core.FairShare.Use> uses(Connection c, Instant now, Duration halfLife) throws SQLException {
        double h = halfLife.toMillis() / 3_600_000.0;
        List<dev.gpudev.core.FairShare.Use> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                with used as (
                    select user_id, team, gpu_count * %1$s as gpu_count,
                           launched_at as from_t, ?::timestamptz as to_t from reservations
                    where status in ('preparing','active') and launched_at is not null
                    union all
                    select user_id, team, gpu_count * %1$s, launched_at,
                           status_changed_at from reservations
                    where launched_at is not null and status in ('expired','cancelled','failed') and status_changed_at >= ?)
                select user_id, team, sum(gpu_count * ? / ln(2) * (
                        power(2, -greatest(0, extract(epoch from (?::timestamptz - to_t)) / 3600) / ?)
                      - power(2, -greatest(0, extract(epoch from (?::timestamptz - from_t)) / 3600) / ?)))
                from used where to_t > from_t group by user_id, team""".formatted(weights()))) {
            Timestamp at = Timestamp.from(now);
            ps.setTimestamp(1, at);
            ps.setTimestamp(2, Timestamp.from(now.minus(halfLife.multipliedBy(HALF_LIVES_KEPT))));
            ps.setDouble(3, h);
            ps.setTimestamp(4, at);
            ps.setDouble(5, h);
            ps.setTimestamp(6, at);
            ps.setDouble(7, h);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    double v = rs.getDouble(3);
                    if (v > 0) {
                        out.add(new dev.gpudev.core.FairShare.Use(rs.getLong(1), rs.getString(2), v));
                    }
                }
            }
        }
        return out;
    }

    /**
     * The standings by this policy now: everyone's decayed usage (per user and team), the users' and teams'
     * shares, and who waits (they compete too); with the teams' guaranteed GPUs. With no weight (first
     * come, first served) only the guarantees are read.
     */
    public dev.gpudev.core.FairShare standings(Connection c, dev.gpudev.core.FairShare.Policy policy, Instant now) throws SQLException {
        if (policy.weightHours() == 0) {
            return standings(c, policy, now, List.of());
        }
        List<dev.gpudev.core.FairShare.Charge> waiting = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select distinct user_id, team from reservations where status = 'queued'");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                waiting.add(new dev.gpudev.core.FairShare.Charge(rs.getLong(1), rs.getString(2)));
            }
        }
        return standings(c, policy, now, waiting);
    }

    /** The same, for these who wait (a processor knows them: no query of the queue). */
    public dev.gpudev.core.FairShare standings(Connection c, dev.gpudev.core.FairShare.Policy policy, Instant now,
                                               java.util.Collection<dev.gpudev.core.FairShare.Charge> waiting) throws SQLException {
        Teams teams = new Teams();
        if (policy.weightHours() == 0) {
            return dev.gpudev.core.FairShare.none(teams.guarantees(c));
        }
        return dev.gpudev.core.FairShare.of(policy, uses(c, now, policy.halfLife()), shares(c), teams.shares(c), waiting)
                .withGuarantees(teams.guarantees(c));
    }

    /**
     * Past use as an ended (expired) reservation: {@code gpus} GPUs of a type from {@code from} to
     * {@code to}. For an import of usage from an earlier system, and for replays that start with history.
     */
    public void recordEnded(Connection c, long userId, String gpuType, int gpus, Instant from, Instant to) throws SQLException {
        recordEnded(c, userId, null, gpuType, gpus, from, to);
    }

    /** The same, charged to a team (null: to none). */
    public void recordEnded(Connection c, long userId, String team, String gpuType, int gpus, Instant from, Instant to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at,
                    launched_at, status_changed_at, expires_at, team) values (?, ?, 'expired', ?, ?, ?, ?, ?, ?, ?, ?)""")) {
            ps.setObject(1, java.util.UUID.randomUUID());
            ps.setLong(2, userId);
            ps.setString(10, team);
            ps.setString(3, gpuType);
            ps.setInt(4, gpus);
            ps.setBigDecimal(5, java.math.BigDecimal.valueOf(Math.max(1, Duration.between(from, to).toMinutes())).divide(
                    java.math.BigDecimal.valueOf(60), 6, java.math.RoundingMode.HALF_UP));
            ps.setTimestamp(6, Timestamp.from(from));
            ps.setTimestamp(7, Timestamp.from(from));
            ps.setTimestamp(8, Timestamp.from(to));
            ps.setTimestamp(9, Timestamp.from(to));
            ps.executeUpdate();
        }
    }

    /** The shares an admin set (users absent here have 1). */
    public Map<Long, Double> shares(Connection c) throws SQLException {
        Map<Long, Double> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select user_id, fair_share from api_users where fair_share <> 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getLong(1), rs.getDouble(2));
            }
        }
        return out;
    }

    /** Sets a user's share; the user's id, or empty when there is no such user. */
    public Optional<Long> setShare(Connection c, String username, double share) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update api_users set fair_share = ? where username = ? returning user_id")) {
            ps.setBigDecimal(1, java.math.BigDecimal.valueOf(share));
            ps.setString(2, username);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getLong(1)) : Optional.empty();
            }
        }
    }

    /** A stretch of GPU use: how many GPUs of which type, from when to when (now, while it runs). */
    public record Stretch(String gpuType, int gpus, Instant from, Instant to) {
    }

    /** A user's stretches of use that overlap [since, now], oldest first. */
    public List<Stretch> of(Connection c, long userId, Instant since, Instant now) throws SQLException {
        return stretches(c, "user_id = ?", userId, since, now);
    }

    /** The stretches of use charged to a team that overlap [since, now], oldest first. */
    public List<Stretch> ofTeam(Connection c, String team, Instant since, Instant now) throws SQLException {
        return stretches(c, "team = ?", team, since, now);
    }

    private List<Stretch> stretches(Connection c, String whose, Object who, Instant since, Instant now) throws SQLException {
        List<Stretch> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                select gpu_type, gpu_count, launched_at,
                       case when status in ('preparing','active') then ?::timestamptz else status_changed_at end as to_t
                from reservations where %s and launched_at is not null and launched_at < ?
                  and (status in ('preparing','active') or status_changed_at > ?)
                order by launched_at""".formatted(whose))) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setObject(2, who);
            ps.setTimestamp(3, Timestamp.from(now));
            ps.setTimestamp(4, Timestamp.from(since));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Instant to = Pgmq.instant(rs, 4);
                    out.add(new Stretch(rs.getString(1), rs.getInt(2), Pgmq.instant(rs, 3), to == null ? now : to));
                }
            }
        }
        return out;
    }
}
