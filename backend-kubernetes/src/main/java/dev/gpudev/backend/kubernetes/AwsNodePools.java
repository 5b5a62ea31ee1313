package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.NodePools;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Elastic GPU pools on AWS: each an EKS managed node group's Auto Scaling group (GpuType-labelled nodes), sized
 * through the Auto Scaling API (SetDesiredCapacity; a chosen empty node removed with
 * TerminateInstanceInAutoScalingGroup, the group one smaller: that node, never another). Credentials are the
 * SDK's default chain (the processor's IAM role for service accounts on EKS).
 */
final class AwsNodePools implements NodePools {
    private static final Pattern INSTANCE = Pattern.compile("^aws:///[^/]+/(i-[0-9a-f]+)$");
    private final List<Pool> pools;
    private final AutoScalingClient autoscaling;
    private final KubernetesClient client;

    AwsNodePools(List<Pool> pools, AutoScalingClient autoscaling, KubernetesClient client) {
        this.pools = List.copyOf(pools);
        this.autoscaling = autoscaling;
        this.client = client;
    }

    @Override
    public List<Pool> pools() {
        return pools;
    }

    @Override
    public int desired(Pool pool) throws BackendException {
        try {
            var groups = autoscaling.describeAutoScalingGroups(r -> r.autoScalingGroupNames(pool.name())).autoScalingGroups();
            if (groups.isEmpty()) {
                throw new BackendException("pool " + pool.gpuType() + ": there is no Auto Scaling group " + pool.name(), false);
            }
            return groups.getFirst().desiredCapacity();
        } catch (SdkException e) {
            throw new BackendException("pool " + pool.gpuType() + ": could not read Auto Scaling group " + pool.name() + ": " + e.getMessage(), true, e);
        }
    }

    @Override
    public void resize(Pool pool, int desired) throws BackendException {
        int n = Math.max(pool.min(), Math.min(pool.max(), desired));
        try {
            autoscaling.setDesiredCapacity(r -> r.autoScalingGroupName(pool.name()).desiredCapacity(n).honorCooldown(false));
        } catch (SdkException e) {
            throw new BackendException("pool " + pool.gpuType() + ": could not set Auto Scaling group " + pool.name() + " to " + n + ": "
                    + e.getMessage(), true, e);
        }
    }

    @Override
    public void remove(Pool pool, String node) throws BackendException {
        Node n = client.nodes().withName(node).get();
        if (n == null) {
            return; // gone already
        }
        String provider = n.getSpec() == null ? null : n.getSpec().getProviderID();
        Matcher m = INSTANCE.matcher(provider == null ? "" : provider);
        if (!m.matches()) {
            throw new BackendException("node " + node + " has no EC2 instance id (providerID " + provider + "): it is not removed", false);
        }
        try {
            autoscaling.terminateInstanceInAutoScalingGroup(r -> r.instanceId(m.group(1)).shouldDecrementDesiredCapacity(true));
        } catch (SdkException e) {
            throw new BackendException("pool " + pool.gpuType() + ": could not remove instance " + m.group(1) + " (" + node + "): "
                    + e.getMessage(), true, e);
        }
    }
}
