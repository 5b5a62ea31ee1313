package dev.gpudev.e2e;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * STS's GetCallerIdentity on loopback (the real one is not reachable here): an access key
 * AKID<NAME> is the assumed role SSOCloudDevGpuReservation with session NAME@example.com.
 */
final class StandInSts implements AutoCloseable {
    private final HttpServer server;

    StandInSts() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String auth = String.valueOf(ex.getRequestHeaders().getFirst("Authorization"));
            var m = java.util.regex.Pattern.compile("Credential=AKID([A-Z]+)/").matcher(auth);
            byte[] out;
            int status;
            if (m.find()) {
                status = 200;
                out = ("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/"
                        + "SSOCloudDevGpuReservation/" + m.group(1).toLowerCase() + "@example.com</Arn><Account>123456789012</Account>"
                        + "</GetCallerIdentityResult></GetCallerIdentityResponse>").getBytes(StandardCharsets.UTF_8);
            } else {
                status = 403;
                out = "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>".getBytes(StandardCharsets.UTF_8);
            }
            ex.sendResponseHeaders(status, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
