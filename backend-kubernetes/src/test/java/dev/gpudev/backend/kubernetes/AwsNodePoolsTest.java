package dev.gpudev.backend.kubernetes;

import com.sun.net.httpserver.HttpServer;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.NodePools;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pools' AWS side against a stand-in for the Auto Scaling API (its query protocol, on 127.0.0.1). */
class AwsNodePoolsTest {
    static final String NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
    @TempDir
    Path disks;
    HttpServer standIn;
    SimulatedCluster cluster;
    final List<Map<String, String>> calls = new CopyOnWriteArrayList<>();
    volatile int desired = 1;

    @BeforeEach
    void start() throws Exception {
        cluster = SimulatedCluster.start(disks);
        standIn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        standIn.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Map<String, String> form = java.util.Arrays.stream(body.split("&")).map(kv -> kv.split("=", 2))
                    .collect(Collectors.toMap(kv -> URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
                            kv -> kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : ""));
            calls.add(form);
            String action = form.get("Action");
            String result = switch (action) {
                case "DescribeAutoScalingGroups" -> "<DescribeAutoScalingGroupsResult><AutoScalingGroups>"
                        + (form.get("AutoScalingGroupNames.member.1").equals("asg-h100")
                        ? "<member><AutoScalingGroupName>asg-h100</AutoScalingGroupName><MinSize>0</MinSize><MaxSize>4</MaxSize>"
                        + "<DesiredCapacity>" + desired + "</DesiredCapacity></member>" : "")
                        + "</AutoScalingGroups></DescribeAutoScalingGroupsResult>";
                case "SetDesiredCapacity" -> {
                    desired = Integer.parseInt(form.get("DesiredCapacity"));
                    yield "";
                }
                case "TerminateInstanceInAutoScalingGroup" -> "<TerminateInstanceInAutoScalingGroupResult><Activity>"
                        + "<ActivityId>a-1</ActivityId><AutoScalingGroupName>asg-h100</AutoScalingGroupName><StatusCode>InProgress</StatusCode>"
                        + "</Activity></TerminateInstanceInAutoScalingGroupResult>";
                default -> "";
            };
            byte[] xml = ("<" + action + "Response xmlns=\"" + NS + "\">" + result
                    + "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></" + action + "Response>").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/xml");
            ex.sendResponseHeaders(200, xml.length);
            ex.getResponseBody().write(xml);
            ex.close();
        });
        standIn.start();
    }

    @AfterEach
    void stop() {
        standIn.stop(0);
        cluster.close();
    }

    AwsNodePools pools(NodePools.Pool pool) {
        var client = AutoScalingClient.builder().region(Region.US_EAST_1)
                .endpointOverride(URI.create("http://127.0.0.1:" + standIn.getAddress().getPort()))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDTEST", "secret")))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create()).build();
        return new AwsNodePools(List.of(pool), client, cluster.client);
    }

    @Test
    void aPoolIsReadResizedWithinItsBoundsAndLosesTheNodeItWasToldToAndNoOther() throws Exception {
        var pool = new NodePools.Pool("h100", "asg-h100", 8, 0, 2);
        var pools = pools(pool);
        assertEquals(1, pools.desired(pool));
        pools.resize(pool, 5);
        assertEquals(2, desired, "never beyond the pool's max");
        assertEquals("false", calls.getLast().get("HonorCooldown"));
        cluster.client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gpu-a").endMetadata()
                .withNewSpec().withProviderID("aws:///us-east-1a/i-0abc123").endSpec().build()).create();
        pools.remove(pool, "gpu-a");
        assertEquals(Map.of("Action", "TerminateInstanceInAutoScalingGroup", "Version", "2011-01-01", "InstanceId", "i-0abc123",
                "ShouldDecrementDesiredCapacity", "true"), calls.getLast(), "that instance, and the group one smaller");
        pools.remove(pool, "gone"); // already gone: nothing to do
        cluster.client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gpu-b").endMetadata().build()).create();
        var e = assertThrows(BackendException.class, () -> pools.remove(pool, "gpu-b"));
        assertFalse(e.isTransient());
        var missing = new NodePools.Pool("a100", "asg-nope", 8, 0, 2);
        var none = assertThrows(BackendException.class, () -> pools(missing).desired(missing));
        assertTrue(none.getMessage().contains("there is no Auto Scaling group asg-nope"), none.getMessage());
    }
}
