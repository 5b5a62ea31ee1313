package dev.gpudev.backend.spi;

/**
 * A Dockerfile build a reservation asked for ({@code reserve --dockerfile}): its context as uploaded (a gzip'd
 * tar holding {@code Dockerfile} and the build context's files), content-addressed by {@code hash}, and whose it
 * is (the build runs as that user, never as root, and counts against their limits).
 */
public record ImageBuild(String hash, byte[] context, long userId, String username) {

    /** The tag a build's image gets in the platform's registry: its hash, as a tag may spell it. */
    public String tag() {
        return hash.replace(':', '-');
    }

    /** What a build made: the image (a reference the backend pulls) and its log's end. */
    public record Built(String image, String log, boolean reused) {
    }

    /** A build that failed: its failing step in words, and its log's end. */
    public static final class Failed extends BackendException {
        private final String log;

        public Failed(String message, String log) {
            super(message, false);
            this.log = log;
        }

        public String log() {
            return log;
        }
    }
}
