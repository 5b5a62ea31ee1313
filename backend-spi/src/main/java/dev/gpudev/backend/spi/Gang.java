package dev.gpudev.backend.spi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The environments of a distributed reservation, in rank order: one gang, scheduled together, each node
 * knowing the others. Where node 0 listens is each backend's business (it knows its network); what a
 * node is told of it is torch.distributed's variables, the same on every backend.
 *
 * @param members every node's environment name, node 0 first
 */
public record Gang(List<String> members) {
    public Gang {
        members = List.copyOf(members);
        if (members.isEmpty()) {
            throw new IllegalArgumentException("a gang has at least node 0");
        }
    }

    public int size() {
        return members.size();
    }

    /** The environment of node 0: where the rendezvous is. */
    public String node0() {
        return members.getFirst();
    }

    /** torch.distributed's variables for one node, given where node 0 listens. */
    public Map<String, String> variables(int rank, String masterAddress, int masterPort, int gpusPerNode) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MASTER_ADDR", masterAddress);
        env.put("MASTER_PORT", Integer.toString(masterPort));
        env.put("WORLD_SIZE", Integer.toString(size()));
        env.put("NODE_RANK", Integer.toString(rank));
        env.put("NNODES", Integer.toString(size()));
        env.put("GPUS_PER_NODE", Integer.toString(gpusPerNode));
        return env;
    }
}
