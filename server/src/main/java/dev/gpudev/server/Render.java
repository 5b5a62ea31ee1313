package dev.gpudev.server;

import dev.gpudev.backend.kubernetes.EnvironmentObjects;
import dev.gpudev.backend.kubernetes.KubernetesSettings;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.GpuType;
import dev.gpudev.core.Names;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ValidationException;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.utils.Serialization;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * `gpu-dev server render`: the Kubernetes objects a reservation would get, as YAML, without a cluster
 * or a database: the same builder the backend uses. What only the running platform knows (the
 * reservation's id, the nodes the scheduler picks, the user's registered keys) is shown as such.
 */
@Command(name = "render", mixinStandardHelpOptions = true,
        description = "Print as YAML the Kubernetes objects a reservation would get (no cluster needed).")
final class Render implements Callable<Integer> {
    @Option(names = "--gpu-type", required = true, description = "h100, a100, ...")
    String gpuType;

    @Option(names = "--gpus", defaultValue = "1", description = "GPUs (default ${DEFAULT-VALUE})")
    int gpus;

    @Option(names = "--hours", defaultValue = "1", description = "duration (default ${DEFAULT-VALUE})")
    BigDecimal hours;

    @Option(names = "--user", required = true, description = "who reserves")
    String user;

    @Option(names = "--disk", description = "a named disk as home")
    String disk;

    @Option(names = "--no-persist", description = "a scratch home")
    boolean noPersist;

    @Option(names = "--name", description = "the reservation's name")
    String name;

    @Option(names = "--distributed", description = "whole nodes, with the rendezvous")
    boolean distributed;

    @Option(names = "--image", description = "the image (default: the platform's)")
    String image;

    @Option(names = "--jupyter", description = "with Jupyter Lab")
    boolean jupyter;

    /** The server's own options for the cluster: what is rendered is what a server with them would make. */
    @picocli.CommandLine.Mixin
    KubernetesOptions kubernetes = new KubernetesOptions();

    @Option(names = "--node-cpu", defaultValue = "192", description = "a node's allocatable CPUs (default ${DEFAULT-VALUE}, a p5.48xlarge)")
    String nodeCpu;

    @Option(names = "--node-memory", defaultValue = "2000Gi", description = "a node's allocatable memory (default ${DEFAULT-VALUE})")
    String nodeMemory;

    @Override
    public Integer call() {
        GpuType type = GpuCatalog.standard().find(gpuType)
                .orElseThrow(() -> new ValidationException("unknown GPU type '" + gpuType + "'"));
        Names.check("user", user);
        if (name != null) {
            Names.check("name", name);
        }
        if (disk != null && noPersist) {
            throw new ValidationException("--disk and --no-persist contradict each other");
        }
        int perNode = type.gpusPerNode();
        if (gpus < 1 || (!distributed && gpus > perNode) || (distributed && gpus % perNode != 0)) {
            throw new ValidationException(distributed ? "a distributed reservation of " + gpuType + " takes whole nodes: a multiple of " + perNode
                    : "at most " + perNode + " GPUs on one " + gpuType + " node (or --distributed for more)");
        }
        UUID id = UUID.nameUUIDFromBytes((user + "/" + (name == null ? "" : name)).getBytes(StandardCharsets.UTF_8));
        int nodes = distributed ? gpus / perNode : 1;
        KubernetesSettings settings = kubernetes.settings();
        List<HasMetadata> all = new ArrayList<>();
        List<String> members = new ArrayList<>();
        for (int rank = 0; rank < nodes; rank++) {
            members.add(Reservation.environmentName(id, rank));
        }
        dev.gpudev.backend.spi.Gang gang = distributed ? new dev.gpudev.backend.spi.Gang(members) : null;
        for (int rank = 0; rank < nodes; rank++) {
            String env = members.get(rank);
            EnvironmentSpec.Home home = rank > 0 || noPersist ? new EnvironmentSpec.Home.Scratch()
                    : disk != null ? new EnvironmentSpec.Home.Disk(new DiskRef(0, 0, user, disk)) : new EnvironmentSpec.Home.Own();
            var spec = new EnvironmentSpec(id, env, rank, new EnvironmentSpec.Owner(0, user), "NODE-" + rank, distributed ? perNode : gpus,
                    List.of("(" + user + "'s registered SSH keys, and those of users added to the reservation)"),
                    jupyter && rank == 0 ? new EnvironmentSpec.Jupyter(8888, "(generated at submit)") : null, home, image, gang);
            all.addAll(EnvironmentObjects.all(spec, settings, new EnvironmentObjects.NodeSize(perNode, new Quantity(nodeCpu),
                    new Quantity(nodeMemory))));
        }
        System.out.println("# " + gpus + " x " + gpuType + " for " + hours.stripTrailingZeros().toPlainString() + " h, reserved by " + user
                + (name == null ? "" : " as " + name) + (distributed ? ", on " + nodes + " whole nodes" : "")
                );
        System.out.println("# NODE-n: the node the scheduler chooses; the id comes from the database at submit (here: made up);");
        System.out.println("# a disk's claim is named after its id (here 0); the reservation's processor removes these at its end.");
        for (HasMetadata o : all) {
            System.out.print("---\n" + Serialization.asYaml(o).replaceFirst("^---\n", ""));
        }
        return 0;
    }
}
