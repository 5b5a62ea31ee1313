package dev.gpudev.backend.kubernetes;

import com.sun.net.httpserver.HttpServer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.autoscaling.AutoScalingClient;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A stand-in for AWS's Auto Scaling API on 127.0.0.1, in its query protocol: each request's form is recorded and
 * handed to the test, whose answer (the action's result element, or nothing) is wrapped in the response envelope.
 */
final class AutoScalingStandIn implements AutoCloseable {
    final List<Map<String, String>> calls = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    AutoScalingStandIn(Function<Map<String, String>, String> answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            Map<String, String> form = new HashMap<>();
            for (String kv : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
                String[] p = kv.split("=", 2);
                form.put(URLDecoder.decode(p[0], StandardCharsets.UTF_8), p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "");
            }
            calls.add(form);
            String action = form.get("Action");
            String result = answer.apply(form);
            byte[] xml = ("<" + action + "Response xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">" + (result == null ? "" : result)
                    + "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></" + action + "Response>").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/xml");
            ex.sendResponseHeaders(200, xml.length);
            ex.getResponseBody().write(xml);
            ex.close();
        });
        server.start();
    }

    /** The SDK's client, pointed here, with made-up credentials. */
    AutoScalingClient client() {
        return AutoScalingClient.builder().region(Region.US_EAST_1)
                .endpointOverride(URI.create("http://127.0.0.1:" + server.getAddress().getPort()))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDTEST", "secret")))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create()).build();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
