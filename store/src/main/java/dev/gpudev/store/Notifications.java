package dev.gpudev.store;

import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * LISTEN/NOTIFY on one channel: writers call {@link #notify} inside their transaction (delivered
 * on commit); a waiter blocks until a notification arrives or the poll interval passes.
 */
public final class Notifications {
    public static final String CHANNEL = "gpudev_commands";

    public static void notify(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select pg_notify(?, '')")) {
            ps.setString(1, CHANNEL);
            ps.execute();
        }
    }

    /** A dedicated session listening on the channel. */
    public static final class Listener implements AutoCloseable {
        private final Database db;
        private Connection connection;

        public Listener(Database db) {
            this.db = db;
        }

        /** Waits up to timeoutMs; true when woken by a notification, false on timeout or a lost session. */
        public boolean await(int timeoutMs) {
            try {
                if (connection == null || connection.isClosed()) {
                    connection = db.openDedicated();
                    try (Statement st = connection.createStatement()) {
                        st.execute("LISTEN " + CHANNEL);
                    }
                }
                var notes = connection.unwrap(PGConnection.class).getNotifications(timeoutMs);
                return notes != null && notes.length > 0;
            } catch (SQLException e) {
                close();
                try {
                    Thread.sleep(Math.min(timeoutMs, 1000));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
        }

        @Override
        public void close() {
            try {
                if (connection != null) {
                    connection.close();
                }
            } catch (SQLException ignored) {
                // closing a broken session: nothing to do
            }
            connection = null;
        }
    }
}
