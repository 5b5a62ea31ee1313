package dev.gpudev.core;

/** Bad input from a user: the message says what is wrong and what to do instead. */
public class ValidationException extends RuntimeException {
    public ValidationException(String message) {
        super(message);
    }
}
