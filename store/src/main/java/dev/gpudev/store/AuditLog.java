package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The audit_log table. Never holds a secret: actions are routes, targets are "KIND REFERENCE" (reservation UUID, disk NAME, user NAME, …). */
public final class AuditLog {

    public record Entry(long id, Instant at, Long userId, String username, String action, String target,
                        String clientAddress, int outcome, String requestId) {
    }

    /** Filters; null means any. */
    public record Query(String username, String action, Instant since, int limit) {
    }

    private static final String COLUMNS = "at, user_id, username, action, target, client_address, outcome, request_id";
    private static final String VALUES = "?::timestamptz, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::int, ?::text";

    private static List<Object> values(Entry e) {
        return java.util.Arrays.asList(e.at(), e.userId(), e.username(), e.action(), e.target(), e.clientAddress(), e.outcome(),
                e.requestId());
    }

    public void record(Connection c, Entry e) throws SQLException {
        new Sql("insert into audit_log (" + COLUMNS + ") values (" + VALUES + ")", values(e)).execute(c);
    }

    /** The entry written once for each row of {@code source} (a CTE of the statement it joins). */
    static Sql recordFor(String source, Entry e) {
        return new Sql("insert into audit_log (" + COLUMNS + ") select " + VALUES + " from " + source, values(e));
    }

    public List<Entry> find(Connection c, Query q) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select * from audit_log
                where (?::text is null or username = ?::text) and (?::text is null or action = ?::text)
                  and (?::timestamptz is null or at >= ?::timestamptz)
                order by at desc, audit_id desc limit ?""")) {
            ps.setString(1, q.username());
            ps.setString(2, q.username());
            ps.setString(3, q.action());
            ps.setString(4, q.action());
            Timestamp since = q.since() == null ? null : Timestamp.from(q.since());
            ps.setTimestamp(5, since);
            ps.setTimestamp(6, since);
            ps.setInt(7, q.limit());
            List<Entry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Entry(rs.getLong("audit_id"), Pgmq.instant(rs, rs.findColumn("at")), (Long) (rs.getObject("user_id") == null ? null : rs.getLong("user_id")),
                            rs.getString("username"), rs.getString("action"), rs.getString("target"), rs.getString("client_address"),
                            rs.getInt("outcome"), rs.getString("request_id")));
                }
            }
            return out;
        }
    }
}
