package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * Dockerfile builds: their uploaded contexts by hash, and how each build ended (the image, or the failure),
 * with the log's end. One row per hash: the same Dockerfile and context asked again reuse it.
 */
public final class ImageBuilds {
    /** A build as stored (without its context's bytes). */
    public record Build(String hash, int size, Long uploadedBy, Instant uploadedAt, String image, Instant builtAt, String failure, String log) {
        public boolean built() {
            return image != null;
        }
    }

    /** Stores a context under its hash; false when that hash was stored before (the same bytes: nothing to do). */
    public boolean put(Connection c, String hash, byte[] context, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "insert into image_builds (hash, context, size, uploaded_by) values (?, ?, ?, ?) on conflict (hash) do nothing")) {
            ps.setString(1, hash);
            ps.setBytes(2, context);
            ps.setInt(3, context.length);
            ps.setLong(4, userId);
            return ps.executeUpdate() == 1;
        }
    }

    public Optional<Build> find(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select hash, size, uploaded_by, uploaded_at, image, built_at, failure, log from image_builds where hash = ?")) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                long by = rs.getLong(3);
                Long uploadedBy = rs.wasNull() ? null : by;
                Timestamp built = rs.getTimestamp(6);
                return Optional.of(new Build(rs.getString(1), rs.getInt(2), uploadedBy, rs.getTimestamp(4).toInstant(), rs.getString(5),
                        built == null ? null : built.toInstant(), rs.getString(7), rs.getString(8)));
            }
        }
    }

    /** How many contexts a user sent that are neither built nor failed (waiting to be asked for, or building). */
    public int unbuiltOf(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select count(*) from image_builds where uploaded_by = ? and image is null and failure is null")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** The context's bytes, for the builder. */
    public Optional<byte[]> context(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select context from image_builds where hash = ?")) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
            }
        }
    }

    /** The build made this image; its log's end kept. */
    public void built(Connection c, String hash, String image, String log, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "update image_builds set image = ?, built_at = ?, failure = null, log = ? where hash = ?")) {
            ps.setString(1, image);
            ps.setTimestamp(2, Timestamp.from(at));
            ps.setString(3, log);
            ps.setString(4, hash);
            ps.executeUpdate();
        }
    }

    /** The build failed, for this reason (the failing step); its log's end kept. A later submit of the hash builds again. */
    public void failed(Connection c, String hash, String failure, String log) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update image_builds set failure = ?, log = ? where hash = ? and image is null")) {
            ps.setString(1, failure);
            ps.setString(2, log);
            ps.setString(3, hash);
            ps.executeUpdate();
        }
    }

    /** Another try: a failed build's failure forgotten (a submit asks the same hash again). */
    public void retry(Connection c, String hash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("update image_builds set failure = null where hash = ? and image is null")) {
            ps.setString(1, hash);
            ps.executeUpdate();
        }
    }
}
