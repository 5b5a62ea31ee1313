package dev.gpudev.backend.spi;

/** A backend could not do what was asked; transient failures are tried again, permanent ones are the user's to read. */
public class BackendException extends Exception {
    private final boolean isTransient;

    public BackendException(String message, boolean isTransient) {
        super(message);
        this.isTransient = isTransient;
    }

    public BackendException(String message, boolean isTransient, Throwable cause) {
        super(message, cause);
        this.isTransient = isTransient;
    }

    public boolean isTransient() {
        return isTransient;
    }
}
