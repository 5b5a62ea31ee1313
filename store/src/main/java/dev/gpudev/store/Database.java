package dev.gpudev.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** The connection pool, migrations and transactions of one PostgreSQL database. */
public final class Database implements AutoCloseable {

    @FunctionalInterface
    public interface SqlWork<T> {
        T apply(Connection c) throws SQLException;
    }

    private final HikariDataSource pool;
    private final String url;
    private final String user;
    private final String password;
    private final int poolSize;
    private volatile GroupCommit group;

    private Database(String url, String user, String password, int poolSize) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.poolSize = poolSize;
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(url);
        cfg.setUsername(user);
        cfg.setPassword(password);
        cfg.setMaximumPoolSize(poolSize);
        cfg.setPoolName("gpudev");
        cfg.setAutoCommit(true);
        // A database that is away is a 503 within two seconds, not a request hanging for Hikari's default 30.
        cfg.setConnectionTimeout(2000);
        cfg.setValidationTimeout(1000);
        try {
            this.pool = new HikariDataSource(cfg);
        } catch (RuntimeException e) {
            throw new StoreException(cannotConnect(url, user, e), e);
        }
    }

    /** Why the first connection failed, in words (no password in them). */
    static String cannotConnect(String url, String user, Throwable e) {
        String where = url.replaceFirst("^jdbc:", "").replaceAll("([?&]password=)[^&]*", "$1***");
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.equals("28P01") || state.equals("28000")) {
                    return "the database at " + where + " refused user '" + user + "': wrong password or no such user"
                            + " (check --database-url or POSTGRES_USER/POSTGRES_PASSWORD)";
                }
                if (state.equals("3D000")) {
                    return "the database in " + where + " does not exist: create it, or name another in --database-url";
                }
                if (state.startsWith("08")) {
                    return "cannot reach the database at " + where + ": is PostgreSQL running there and reachable from here?";
                }
                return "the database at " + where + " refused the connection: " + sql.getMessage() + " (SQLSTATE " + state + ")";
            }
        }
        return "cannot connect to the database at " + where + ": " + e.getMessage();
    }

    public static Database connect(String url, String user, String password, int poolSize) {
        return new Database(url, user, password == null ? "" : password, poolSize);
    }

    /** Brings the schema up to date (PGMQ included); safe to run on every start and from several replicas. */
    public Database migrate() {
        Flyway.configure().dataSource(pool).locations("classpath:db/migration")
                .failOnMissingLocations(true).load().migrate();
        return this;
    }

    /** Runs the work in one transaction: committed if it returns, rolled back if it throws. */
    public <T> T inTransaction(SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.apply(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException gone) {
                    e.addSuppressed(gone); // a connection that broke: what broke it is the error (a 503, not "connection is closed")
                }
                throw e;
            } finally {
                try {
                    c.setAutoCommit(true);
                } catch (SQLException gone) {
                    // a broken connection: the pool drops it
                }
            }
        } catch (SQLException e) {
            throw new StoreException("database error: " + e.getMessage(), e);
        }
    }

    /** Runs the work on a pooled connection in autocommit mode. */
    public <T> T query(SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            return work.apply(c);
        } catch (SQLException e) {
            throw new StoreException("database error: " + e.getMessage(), e);
        }
    }

    /**
     * Runs the work in a transaction it may share with other work arriving at the same time (a group
     * commit, {@link GroupCommit}): for small, frequent writes whose callers each wait for their commit
     * (submits). The answer comes after the commit; a failure of one unit never fails another's.
     */
    public <T> T inGroupCommit(SqlWork<T> work) {
        GroupCommit g = group;
        if (g == null) {
            synchronized (this) {
                if (group == null) {
                    // a few transactions in flight, each on a pooled connection only while it writes
                    group = new GroupCommit(this, Math.max(2, poolSize / 5), 64, 10_000);
                }
                g = group;
            }
        }
        return g.run(work);
    }

    /** A connection outside the pool, for LISTEN, which must stay on one session. */
    public Connection openDedicated() throws SQLException {
        return DriverManager.getConnection(url, user, password);
    }

    public boolean isHealthy() {
        try {
            return query(c -> c.isValid(1));
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        GroupCommit g = group;
        if (g != null) {
            g.close();
        }
        pool.close();
    }
}
