package dev.gpudev.backend.spi;

import java.util.List;
import java.util.UUID;

/** An environment as the backend sees it now. */
public record Observed(String name, UUID reservationId, int rank, Phase phase) {

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
