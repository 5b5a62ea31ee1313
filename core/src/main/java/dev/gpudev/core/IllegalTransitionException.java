package dev.gpudev.core;

/** A requested state change that the state machine does not allow (HTTP 409). */
public class IllegalTransitionException extends RuntimeException {
    public IllegalTransitionException(String message) {
        super(message);
    }
}
