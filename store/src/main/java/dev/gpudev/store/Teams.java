package dev.gpudev.store;

import dev.gpudev.core.Guarantees;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Teams: their share, caps on what they may have waiting, GPUs guaranteed per type, and members. */
public final class Teams {

    public record Member(long userId, String username, boolean isDefault) {
    }

    /** A team as admins and its members see it. */
    public record Team(String name, double share, int maxWaiting, int maxWaitingGpuHours, Map<String, Integer> guarantees,
                       List<Member> members, Instant createdAt) {
    }

    /** A user's membership: the team, and whether it is the one their reservations go to when they name none. */
    public record Membership(String team, boolean isDefault) {
    }

    /** Makes a team; false when one of that name exists. */
    public boolean create(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into teams (name) values (?) on conflict do nothing")) {
            ps.setString(1, name);
            return ps.executeUpdate() == 1;
        }
    }

    /** Removes a team, its memberships and guarantees (reservations keep its name); false when there is none. */
    public boolean delete(Connection c, String name) throws SQLException {
        uncharge(c, name, null);
        try (PreparedStatement ps = c.prepareStatement("delete from teams where name = ?")) {
            ps.setString(1, name);
            return ps.executeUpdate() == 1;
        }
    }

    /** Sets what is given (null: unchanged); false when there is no such team. */
    public boolean update(Connection c, String name, Double share, Integer maxWaiting, Integer maxWaitingGpuHours) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update teams set fair_share = coalesce(?, fair_share), max_waiting = coalesce(?, max_waiting),
                    max_waiting_gpu_hours = coalesce(?, max_waiting_gpu_hours) where name = ?""")) {
            if (share == null) {
                ps.setNull(1, java.sql.Types.NUMERIC);
            } else {
                ps.setBigDecimal(1, BigDecimal.valueOf(share));
            }
            if (maxWaiting == null) {
                ps.setNull(2, java.sql.Types.INTEGER);
            } else {
                ps.setInt(2, maxWaiting);
            }
            if (maxWaitingGpuHours == null) {
                ps.setNull(3, java.sql.Types.INTEGER);
            } else {
                ps.setInt(3, maxWaitingGpuHours);
            }
            ps.setString(4, name);
            return ps.executeUpdate() == 1;
        }
    }

    /** Guarantees this many GPUs of a type to the team (0 removes the guarantee); false when there is no such team. */
    public boolean guarantee(Connection c, String team, String gpuType, int gpus) throws SQLException {
        if (gpus == 0) {
            try (PreparedStatement ps = c.prepareStatement("delete from team_guarantees where team = ? and gpu_type = ?")) {
                ps.setString(1, team);
                ps.setString(2, gpuType);
                ps.executeUpdate();
            }
            return find(c, team).isPresent();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                insert into team_guarantees (team, gpu_type, gpus) select name, ?, ? from teams where name = ?
                on conflict (team, gpu_type) do update set gpus = excluded.gpus""")) {
            ps.setString(1, gpuType);
            ps.setInt(2, gpus);
            ps.setString(3, team);
            return ps.executeUpdate() == 1;
        }
    }

    /** Makes a user a member (their default team, when asked: then no other is); false when there is no such team. */
    public boolean addMember(Connection c, String team, long userId, boolean makeDefault) throws SQLException {
        if (makeDefault) {
            try (PreparedStatement ps = c.prepareStatement("update team_members set is_default = false where user_id = ? and is_default")) {
                ps.setLong(1, userId);
                ps.executeUpdate();
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                insert into team_members (team, user_id, is_default) select name, ?, ? from teams where name = ?
                on conflict (team, user_id) do update set is_default = excluded.is_default or team_members.is_default""")) {
            ps.setLong(1, userId);
            ps.setBoolean(2, makeDefault);
            ps.setString(3, team);
            return ps.executeUpdate() == 1;
        }
    }

    /** Ends a membership; false when there was none. */
    public boolean removeMember(Connection c, String team, long userId) throws SQLException {
        uncharge(c, team, userId);
        try (PreparedStatement ps = c.prepareStatement("delete from team_members where team = ? and user_id = ?")) {
            ps.setString(1, team);
            ps.setLong(2, userId);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Waiting reservations charged to a team (of one user, or of everyone) charged to none any more: they
     * no longer claim its guarantee nor share its usage once their user left it or it went. Those that ran
     * keep its name (their past usage stays the team's).
     */
    private static void uncharge(Connection c, String team, Long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update reservations set team = null where status = 'queued' and team = ?"
                + (userId == null ? "" : " and user_id = ?"))) {
            ps.setString(1, team);
            if (userId != null) {
                ps.setLong(2, userId);
            }
            ps.executeUpdate();
        }
    }

    /** A user's teams, by name. */
    public List<Membership> of(Connection c, long userId) throws SQLException {
        List<Membership> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select team, is_default from team_members where user_id = ? order by team")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Membership(rs.getString(1), rs.getBoolean(2)));
                }
            }
        }
        return out;
    }

    public Optional<Team> find(Connection c, String name) throws SQLException {
        return all(c, name).stream().findFirst();
    }

    /** Every team, by name. */
    public List<Team> all(Connection c) throws SQLException {
        return all(c, null);
    }

    private List<Team> all(Connection c, String only) throws SQLException {
        Map<String, Team> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select name, fair_share, max_waiting, max_waiting_gpu_hours, created_at from teams"
                + (only == null ? "" : " where name = ?") + " order by name")) {
            if (only != null) {
                ps.setString(1, only);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new Team(rs.getString(1), rs.getDouble(2), rs.getInt(3), rs.getInt(4), new TreeMap<>(),
                            new ArrayList<>(), Pgmq.instant(rs, 5)));
                }
            }
        }
        if (out.isEmpty()) {
            return List.of();
        }
        try (PreparedStatement ps = c.prepareStatement("select team, gpu_type, gpus from team_guarantees"
                + (only == null ? "" : " where team = ?"))) {
            if (only != null) {
                ps.setString(1, only);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.get(rs.getString(1)).guarantees().put(rs.getString(2), rs.getInt(3));
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("select m.team, m.user_id, u.username, m.is_default from team_members m"
                + " join api_users u on u.user_id = m.user_id" + (only == null ? "" : " where m.team = ?") + " order by u.username")) {
            if (only != null) {
                ps.setString(1, only);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.get(rs.getString(1)).members().add(new Member(rs.getLong(2), rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        return List.copyOf(out.values());
    }

    /** Every team's guaranteed GPUs, for the scheduler. */
    public Guarantees guarantees(Connection c) throws SQLException {
        Map<String, Map<String, Integer>> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select team, gpu_type, gpus from team_guarantees");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getString(1), t -> new HashMap<>()).put(rs.getString(2), rs.getInt(3));
            }
        }
        return new Guarantees(out);
    }

    /** The shares admins set (teams absent here have 1). */
    public Map<String, Double> shares(Connection c) throws SQLException {
        Map<String, Double> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select name, fair_share from teams where fair_share <> 1");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getDouble(2));
            }
        }
        return out;
    }

    /** What a team has waiting: reservations, and GPU-hours (GPUs × hours). */
    public record Waiting(int reservations, BigDecimal gpuHours) {
    }

    public Waiting waiting(Connection c, String team) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select count(*), coalesce(sum(gpu_count * duration_hours), 0) from reservations where status = 'queued' and team = ?")) {
            ps.setString(1, team);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Waiting(rs.getInt(1), rs.getBigDecimal(2));
            }
        }
    }
}
