package dev.gpudev.store;

/** A database failure that callers cannot fix by changing their input. */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
