package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.NodePools;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pools' AWS side against a stand-in for the Auto Scaling API (its query protocol, on 127.0.0.1). */
class AwsNodePoolsTest {
    static final String NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
    @TempDir
    Path disks;
    AutoScalingStandIn standIn;
    SimulatedCluster cluster;
    volatile int desired = 1;

    @BeforeEach
    void start() throws Exception {
        cluster = SimulatedCluster.start(disks);
        standIn = new AutoScalingStandIn(form -> switch (form.get("Action")) {
            case "DescribeAutoScalingGroups" -> "<DescribeAutoScalingGroupsResult><AutoScalingGroups>"
                    + (form.get("AutoScalingGroupNames.member.1").equals("asg-h100")
                    ? "<member><AutoScalingGroupName>asg-h100</AutoScalingGroupName><MinSize>0</MinSize><MaxSize>4</MaxSize>"
                    + "<DesiredCapacity>" + desired + "</DesiredCapacity></member>" : "")
                    + "</AutoScalingGroups></DescribeAutoScalingGroupsResult>";
            case "SetDesiredCapacity" -> {
                desired = Integer.parseInt(form.get("DesiredCapacity"));
                yield null;
            }
            case "TerminateInstanceInAutoScalingGroup" -> "<TerminateInstanceInAutoScalingGroupResult><Activity>"
                    + "<ActivityId>a-1</ActivityId><AutoScalingGroupName>asg-h100</AutoScalingGroupName><StatusCode>InProgress</StatusCode>"
                    + "</Activity></TerminateInstanceInAutoScalingGroupResult>";
            default -> null;
        });
    }

    @AfterEach
    void stop() {
        standIn.close();
        cluster.close();
    }

    AwsNodePools pools(NodePools.Pool pool) {
        return new AwsNodePools(List.of(pool), standIn.client(), cluster.client);
    }

    @Test
    void aPoolIsReadResizedWithinItsBoundsAndLosesTheNodeItWasToldToAndNoOther() throws Exception {
        var pool = new NodePools.Pool("h100", "asg-h100", 8, 0, 2);
        var pools = pools(pool);
        assertEquals(1, pools.desired(pool));
        pools.resize(pool, 5);
        assertEquals(2, desired, "never beyond the pool's max");
        assertEquals("false", standIn.calls.getLast().get("HonorCooldown"));
        cluster.client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gpu-a").endMetadata()
                .withNewSpec().withProviderID("aws:///us-east-1a/i-0abc123").endSpec().build()).create();
        pools.remove(pool, "gpu-a");
        assertEquals(Map.of("Action", "TerminateInstanceInAutoScalingGroup", "Version", "2011-01-01", "InstanceId", "i-0abc123",
                "ShouldDecrementDesiredCapacity", "true"), standIn.calls.getLast(), "that instance, and the group one smaller");
        pools.remove(pool, "gone"); // already gone: nothing to do
        cluster.client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gpu-b").endMetadata().build()).create();
        var e = assertThrows(BackendException.class, () -> pools.remove(pool, "gpu-b"));
        assertFalse(e.isTransient());
        var missing = new NodePools.Pool("a100", "asg-nope", 8, 0, 2);
        var none = assertThrows(BackendException.class, () -> pools(missing).desired(missing));
        assertTrue(none.getMessage().contains("there is no Auto Scaling group asg-nope"), none.getMessage());
    }
}
