package dev.gpudev.store;

/** A database failure that callers cannot fix by changing their input. */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Whether the database could not be reached at all (as opposed to a statement that failed). */
    public boolean isUnavailable() {
        Throwable t = getCause();
        if (t instanceof java.sql.SQLTransientConnectionException) {
            return true;
        }
        return t instanceof java.sql.SQLException e && e.getSQLState() != null && e.getSQLState().startsWith("08");
    }
}
