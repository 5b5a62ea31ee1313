package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

/** A statement and its values, bound by type: the one binder of the store. */
record Sql(String text, List<Object> values) {

    /** A typed SQL null. */
    record Null(int sqlType) {
    }

    /** A value written as jsonb. */
    record Jsonb(String json) {
    }

    /** A value written as an integer array. */
    record IntArray(List<Integer> values) {
    }

    static void bind(Connection c, PreparedStatement ps, List<Object> values) throws SQLException {
        for (int i = 0; i < values.size(); i++) {
            Object v = values.get(i);
            switch (v) {
                case null -> ps.setObject(i + 1, null);
                case Null n -> ps.setNull(i + 1, n.sqlType());
                case IntArray a -> ps.setArray(i + 1, c.createArrayOf("integer", a.values().toArray()));
                case Instant t -> ps.setTimestamp(i + 1, Timestamp.from(t));
                case Jsonb j -> {
                    var o = new org.postgresql.util.PGobject();
                    o.setType("jsonb");
                    o.setValue(j.json());
                    ps.setObject(i + 1, o);
                }
                default -> ps.setObject(i + 1, v);
            }
        }
    }

    int execute(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(text)) {
            bind(c, ps, values);
            return ps.executeUpdate();
        }
    }
}
