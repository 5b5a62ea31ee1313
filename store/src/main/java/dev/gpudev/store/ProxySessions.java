package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/** The tunnels SSH proxies hold open, counted per endpoint for idle detection. */
public final class ProxySessions {
    /** An endpoint a tunnel leads to. */
    public record Endpoint(String host, int port) {
    }

    public void opened(Connection c, String sessionId, String proxyId, String username, Endpoint to, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into proxy_sessions (session_id, proxy_id, username, ssh_host, ssh_port, opened_at, seen_at)
                values (?, ?, ?, ?, ?, ?, ?) on conflict (session_id) do update set seen_at = excluded.seen_at""")) {
            ps.setString(1, sessionId);
            ps.setString(2, proxyId);
            ps.setString(3, username);
            ps.setString(4, to.host());
            ps.setInt(5, to.port());
            ps.setTimestamp(6, Timestamp.from(now));
            ps.setTimestamp(7, Timestamp.from(now));
            ps.executeUpdate();
        }
    }

    public void closed(Connection c, String sessionId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from proxy_sessions where session_id = ?")) {
            ps.setString(1, sessionId);
            ps.executeUpdate();
        }
    }

    /** A proxy says its tunnels are still open; and forgets those of proxies silent since {@code staleBefore}. */
    public void heartbeat(Connection c, String proxyId, Instant now, Instant staleBefore) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update proxy_sessions set seen_at = ? where proxy_id = ?")) {
            ps.setTimestamp(1, Timestamp.from(now));
            ps.setString(2, proxyId);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("delete from proxy_sessions where seen_at < ?")) {
            ps.setTimestamp(1, Timestamp.from(staleBefore));
            ps.executeUpdate();
        }
    }

    /** Open tunnels per endpoint, of proxies heard from since {@code since}. */
    public Map<Endpoint, Integer> open(Connection c, Instant since) throws SQLException {
        Map<Endpoint, Integer> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                select ssh_host, ssh_port, count(*) from proxy_sessions where seen_at >= ? group by ssh_host, ssh_port""")) {
            ps.setTimestamp(1, Timestamp.from(since));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(new Endpoint(rs.getString(1), rs.getInt(2)), rs.getInt(3));
                }
            }
        }
        return out;
    }
}
