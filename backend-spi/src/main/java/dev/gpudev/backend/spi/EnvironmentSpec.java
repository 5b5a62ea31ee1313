package dev.gpudev.backend.spi;

import java.util.List;
import java.util.UUID;

/**
 * What one environment (one node of a reservation) should be. The scheduler chose the node and the
 * number of GPUs; which devices, ports and paths that means is the backend's business.
 *
 * @param name           the deterministic name of its backend objects
 * @param rank           the node's place in the reservation (0 has the home disk and Jupyter)
 * @param owner          who owns it (the home and the processes are theirs)
 * @param node           the node the scheduler chose
 * @param authorizedKeys every public key that may log in: the owner's, then added users'
 * @param jupyter        Jupyter Lab wanted, with the port and token it keeps for the reservation's life
 * @param home           where the home directory lives
 * @param image          the container image (backends without containers ignore it and say so)
 * @param gang           the nodes of a distributed reservation (this one is {@code rank}); null when not distributed
 * @param env            the reservation's own variables, in every session and process (the platform's own win)
 * @param run            a batch run: the command the environment runs detached, once, as its owner (its output in
 *                       {@code ~/.gpudev/runs/NAME.log}, waiting for {@code NAME.go} there first when a folder is
 *                       copied); {@link Observed#runEnd} says how it ended. Null: none
 */
public record EnvironmentSpec(UUID reservationId, String name, int rank, Owner owner, String node, int gpuCount,
                              List<String> authorizedKeys, Jupyter jupyter, Home home, String image, Gang gang,
                              dev.gpudev.core.EnvVars env, dev.gpudev.core.BatchRun run) {
    public EnvironmentSpec {
        authorizedKeys = List.copyOf(authorizedKeys);
        env = env == null ? dev.gpudev.core.EnvVars.NONE : env;
    }

    public EnvironmentSpec(UUID reservationId, String name, int rank, Owner owner, String node, int gpuCount,
                           List<String> authorizedKeys, Jupyter jupyter, Home home, String image, Gang gang,
                           dev.gpudev.core.EnvVars env) {
        this(reservationId, name, rank, owner, node, gpuCount, authorizedKeys, jupyter, home, image, gang, env, null);
    }

    public EnvironmentSpec(UUID reservationId, String name, int rank, Owner owner, String node, int gpuCount,
                           List<String> authorizedKeys, Jupyter jupyter, Home home, String image, Gang gang) {
        this(reservationId, name, rank, owner, node, gpuCount, authorizedKeys, jupyter, home, image, gang, dev.gpudev.core.EnvVars.NONE);
    }

    /** Whether it is a node of a distributed reservation. */
    public boolean distributed() {
        return gang != null;
    }

    /** A platform user: the id is stable (uids and paths are made from it), the name is for people. */
    public record Owner(long userId, String username) {
    }

    /** Jupyter Lab on node 0, on this port with this token; null when not wanted. */
    public record Jupyter(int port, String token) {
    }

    /** Where the home directory lives. */
    public sealed interface Home {
        /** A named persistent disk, kept across reservations. */
        record Disk(DiskRef disk) implements Home {
        }

        /** Deleted when the environment is destroyed. */
        record Scratch() implements Home {
        }

        /** The environment's own home, kept after it ends (the default). */
        record Own() implements Home {
        }
    }
}
