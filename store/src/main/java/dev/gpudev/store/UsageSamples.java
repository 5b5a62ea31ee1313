package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** GPUs in use and asked for per type, a sample a minute: the dashboard's chart of the last day. */
public final class UsageSamples {

    public record Sample(Instant at, String gpuType, int totalGpus, int inUse, int queued, int queuedGpus) {
    }

    /** Records one minute's samples; a second replica writing the same minute changes nothing. Drops those past {@code keepSince}. */
    public void record(Connection c, List<Sample> samples, Instant keepSince) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into usage_samples (sampled_at, gpu_type, total_gpus, in_use, queued, queued_gpus)
                values (?, ?, ?, ?, ?, ?) on conflict do nothing""")) {
            for (Sample s : samples) {
                ps.setTimestamp(1, Timestamp.from(s.at()));
                ps.setString(2, s.gpuType());
                ps.setInt(3, s.totalGpus());
                ps.setInt(4, s.inUse());
                ps.setInt(5, s.queued());
                ps.setInt(6, s.queuedGpus());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("delete from usage_samples where sampled_at < ?")) {
            ps.setTimestamp(1, Timestamp.from(keepSince));
            ps.executeUpdate();
        }
    }

    /** Samples since then, oldest first. */
    public List<Sample> since(Connection c, Instant since) throws SQLException {
        List<Sample> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                select sampled_at, gpu_type, total_gpus, in_use, queued, queued_gpus from usage_samples
                where sampled_at >= ? order by sampled_at, gpu_type""")) {
            ps.setTimestamp(1, Timestamp.from(since));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Sample(Pgmq.instant(rs, 1), rs.getString(2), rs.getInt(3), rs.getInt(4), rs.getInt(5), rs.getInt(6)));
                }
            }
        }
        return out;
    }
}
