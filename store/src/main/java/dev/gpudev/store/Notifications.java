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

    /**
     * Wakes the processor after a commit instead of with a NOTIFY inside the writer's transaction. A
     * transaction that notified holds a database-wide lock through its commit, so every submit's commit
     * (and its WAL flush) queued behind the others': no group commit, about 2,000 submits/s on this
     * machine against 5,000 without, and one slow flush stalled them all. Requests within 5 ms of a
     * notification are merged into the next one; a lost wake-up costs at most the processor's poll
     * interval.
     */
    public static final class Coalescer implements AutoCloseable {
        private static final long MIN_INTERVAL_MS = 5;
        private final Database db;
        private final Object lock = new Object();
        private boolean wanted;
        private boolean closed;
        private final Thread thread;

        public Coalescer(Database db) {
            this.db = db;
            this.thread = Thread.ofPlatform().name("notify").daemon().start(this::run);
        }

        /** Asks for a wake-up of the processors; returns at once. */
        public void request() {
            synchronized (lock) {
                wanted = true;
                lock.notifyAll();
            }
        }

        private void run() {
            while (true) {
                synchronized (lock) {
                    while (!wanted && !closed) {
                        try {
                            lock.wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    if (closed) {
                        return;
                    }
                    wanted = false;
                }
                try {
                    db.query(c -> {
                        Notifications.notify(c);
                        return null;
                    });
                    // At most one notification per interval: the first of a quiet spell goes at once, a
                    // burst becomes one more at the end of the interval.
                    Thread.sleep(MIN_INTERVAL_MS);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    try {
                        Thread.sleep(100); // the database is away: the processors poll meanwhile
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }

        @Override
        public void close() {
            synchronized (lock) {
                closed = true;
                lock.notifyAll();
            }
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A dedicated session listening on a channel (the processor's, unless named). */
    public static final class Listener implements AutoCloseable {
        private final Database db;
        private final String channel;
        private volatile Connection connection;
        private volatile long sessions;

        public Listener(Database db) {
            this(db, CHANNEL);
        }

        public Listener(Database db, String channel) {
            if (!channel.matches("[a-z_]+")) {
                throw new IllegalArgumentException("bad channel name " + channel);
            }
            this.db = db;
            this.channel = channel;
        }

        /** Whether a session listens now (what was announced while none did was missed). */
        public boolean listening() {
            return connection != null;
        }

        /** How many sessions have listened so far: a new one means notifications may have been missed in between. */
        public long sessions() {
            return sessions;
        }

        /** Waits up to timeoutMs; true when woken by a notification, false on timeout or a lost session. */
        public boolean await(int timeoutMs) {
            try {
                Connection conn = connection;
                if (conn == null || conn.isClosed()) {
                    conn = db.openDedicated();
                    try (Statement st = conn.createStatement()) {
                        st.execute("LISTEN " + channel);
                    }
                    sessions++;
                    connection = conn;
                }
                var notes = conn.unwrap(PGConnection.class).getNotifications(timeoutMs);
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
                Connection conn = connection;
                if (conn != null) {
                    conn.close();
                }
            } catch (SQLException ignored) {
                // closing a broken session: nothing to do
            }
            connection = null;
        }
    }
}
