package dev.gpudev.cli;

/** A failure to report to the user in one line, with the exit code: 2 for bad input or a refusal, 1 otherwise. */
public class CliException extends RuntimeException {
    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
