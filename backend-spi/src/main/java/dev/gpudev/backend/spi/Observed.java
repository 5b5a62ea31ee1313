package dev.gpudev.backend.spi;

import java.util.List;
import java.util.UUID;

/**
 * An environment as the backend sees it now.
 *
 * @param runEnd how its batch run's command ended, once it did (null: no run, or still running)
 */
public record Observed(String name, UUID reservationId, int rank, Phase phase, RunEnd runEnd) {

    public Observed(String name, UUID reservationId, int rank, Phase phase) {
        this(name, reservationId, rank, phase, null);
    }

    /** A batch run's end: its exit code (128+N: killed by signal N) and the last of its output (at most 64 KiB). */
    public record RunEnd(int exitCode, String logTail) {
        public static final int TAIL_BYTES = 64 * 1024;

        public RunEnd {
            logTail = logTail == null ? "" : logTail.replace('\0', ' ');
        }
    }

    /** Where an environment stands. */
    public sealed interface Phase {
        /** Being made: the detail says what it waits for (a node, an image pull). */
        record Starting(String detail) implements Phase {
        }

        /** Running and its sshd answering at the endpoint; devices are the GPUs it got, where the backend knows them. */
        record Ready(String sshHost, int sshPort, List<Integer> devices, String detail) implements Phase {
            public Ready {
                devices = devices == null ? List.of() : List.copyOf(devices);
            }
        }

        /**
         * It failed, in words the user understands. Transient: the processor makes it again; permanent
         * (a bad image, a crash loop, no node can take it): the reservation fails with the reason.
         */
        record Failed(String reason, boolean isTransient) implements Phase {
        }
    }
}
