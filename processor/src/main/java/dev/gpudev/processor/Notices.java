package dev.gpudev.processor;

/** The names of the notice files an environment's users find in their home. */
final class Notices {
    static final String EXPIRY_PREFIX = "WARN_EXPIRES_IN_";
    static final String IDLE = "IDLE_WARNING.txt";
    static final String PREEMPTED = "PREEMPTED.txt";
    static final String ENDED = "TIME_IS_UP.txt";

    private Notices() {
    }

    static String expiry(int minutes) {
        return EXPIRY_PREFIX + minutes + "MIN.txt";
    }

    /** "1 minute", "5 minutes". */
    static String minutes(long n) {
        return n + (n == 1 ? " minute" : " minutes");
    }
}
