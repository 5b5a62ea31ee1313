package dev.gpudev.store;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A client of PGMQ's SQL API. Works the same against the real extension and our compatible schema.
 * Every call takes the caller's connection, so a send can share a transaction with the row it is about.
 */
public final class Pgmq {

    public record Message(long msgId, int readCt, Instant enqueuedAt, Instant vt, String message) {
    }

    public record Metrics(String queueName, long queueLength, Integer newestMsgAgeSec, Integer oldestMsgAgeSec,
                          long totalMessages) {
    }

    public void create(Connection c, String queue) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pgmq.create(?)")) {
            ps.setString(1, queue);
            ps.execute();
        }
    }

    public long send(Connection c, String queue, String json, int delaySeconds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from pgmq.send(?, ?::jsonb, ?)")) {
            ps.setString(1, queue);
            ps.setString(2, json);
            ps.setInt(3, delaySeconds);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public List<Long> sendBatch(Connection c, String queue, List<String> jsons, int delaySeconds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select * from pgmq.send_batch(?, ?::jsonb[], ?)")) {
            ps.setString(1, queue);
            Array arr = c.createArrayOf("text", jsons.toArray());
            ps.setArray(2, arr);
            ps.setInt(3, delaySeconds);
            List<Long> ids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            return ids;
        }
    }

    /** Reads up to qty visible messages and hides them for vtSeconds (the lease of the reader). */
    public List<Message> read(Connection c, String queue, int vtSeconds, int qty) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select msg_id, read_ct, enqueued_at, vt, message::text from pgmq.read(?, ?, ?)")) {
            ps.setString(1, queue);
            ps.setInt(2, vtSeconds);
            ps.setInt(3, qty);
            return messages(ps);
        }
    }

    public Optional<Message> pop(Connection c, String queue) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select msg_id, read_ct, enqueued_at, vt, message::text from pgmq.pop(?)")) {
            ps.setString(1, queue);
            return messages(ps).stream().findFirst();
        }
    }

    public boolean delete(Connection c, String queue, long msgId) throws SQLException {
        return bool(c, "select pgmq.delete(?, ?::bigint)", queue, msgId);
    }

    /** Deletes these messages in one statement; returns the ids that were there. */
    public List<Long> delete(Connection c, String queue, List<Long> msgIds) throws SQLException {
        List<Long> out = new java.util.ArrayList<>();
        if (msgIds.isEmpty()) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("select * from pgmq.delete(?, ?::bigint[])")) {
            ps.setString(1, queue);
            ps.setArray(2, c.createArrayOf("bigint", msgIds.toArray()));
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    public boolean archive(Connection c, String queue, long msgId) throws SQLException {
        return bool(c, "select pgmq.archive(?, ?::bigint)", queue, msgId);
    }

    public Optional<Message> setVt(Connection c, String queue, long msgId, int vtSeconds) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select msg_id, read_ct, enqueued_at, vt, message::text from pgmq.set_vt(?, ?, ?)")) {
            ps.setString(1, queue);
            ps.setLong(2, msgId);
            ps.setInt(3, vtSeconds);
            return messages(ps).stream().findFirst();
        }
    }

    public Metrics metrics(Connection c, String queue) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select queue_name, queue_length, newest_msg_age_sec, oldest_msg_age_sec, total_messages from pgmq.metrics(?)")) {
            ps.setString(1, queue);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Metrics(rs.getString(1), rs.getLong(2), (Integer) rs.getObject(3),
                        (Integer) rs.getObject(4), rs.getLong(5));
            }
        }
    }

    public long purge(Connection c, String queue) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pgmq.purge_queue(?)")) {
            ps.setString(1, queue);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static boolean bool(Connection c, String sql, String queue, long msgId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, queue);
            ps.setObject(2, msgId, Types.BIGINT);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static List<Message> messages(PreparedStatement ps) throws SQLException {
        List<Message> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Message(rs.getLong(1), rs.getInt(2), instant(rs, 3), instant(rs, 4), rs.getString(5)));
            }
        }
        return out;
    }

    static Instant instant(ResultSet rs, int col) throws SQLException {
        OffsetDateTime t = rs.getObject(col, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
