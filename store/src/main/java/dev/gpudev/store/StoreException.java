package dev.gpudev.store;

/** A database failure that callers cannot fix by changing their input. */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether the database could not be reached, or went away under the statement (as opposed to a
     * statement that failed): connection errors (SQLSTATE 08…), an administrator's or a crash's
     * shutdown, or one still starting (57P01-57P03), and a pool that found no connection in time.
     */
    public boolean isUnavailable() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLNonTransientConnectionException) {
                return true;
            }
            if (t instanceof java.sql.SQLException e && e.getSQLState() != null
                    && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("57P0"))) {
                return true;
            }
        }
        return false;
    }
}
