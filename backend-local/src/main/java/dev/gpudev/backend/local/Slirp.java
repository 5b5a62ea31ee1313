package dev.gpudev.backend.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * An environment's own network: slirp4netns gives the box's network namespace a way out (outbound
 * connections, DNS) and nothing in: the host's loopback is out of reach (--disable-host-loopback),
 * so the server's database, API and every other environment's ports are too. A port of the box is
 * reached from the host only when the server forwards it on purpose (add_hostfwd).
 */
final class Slirp implements AutoCloseable {
    private final Process process;
    private final Path apiSocket;

    private Slirp(Process process, Path apiSocket) {
        this.process = process;
        this.apiSocket = apiSocket;
    }

    /**
     * @param pid      a process of the namespaces to join (the box's keeper)
     * @param asUid    without root: run as this uid (the owner of the namespaces); -1 with root
     */
    static Slirp start(String slirp4netns, long pid, Path envDir, int asUid) throws IOException {
        Path api = envDir.resolve("slirp.sock");
        Files.deleteIfExists(api);
        List<String> cmd = new ArrayList<>(List.of(slirp4netns, "--configure", "--mtu=65520", "--disable-host-loopback",
                "--api-socket", api.toString()));
        if (asUid >= 0) {
            cmd.addAll(List.of("--userns-path=/proc/" + pid + "/ns/user", "--netns-type=path", "/proc/" + pid + "/ns/net"));
        } else {
            cmd.add(Long.toString(pid));
        }
        cmd.add("tap0");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(envDir.resolve("slirp.log").toFile())).start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (!Files.exists(api)) {
            if (!p.isAlive() || Instant.now().isAfter(deadline)) {
                p.destroyForcibly();
                throw new IOException("slirp4netns did not start: " + Files.readString(envDir.resolve("slirp.log")).strip());
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        return new Slirp(p, api);
    }

    /** Forwards a free port of the host's loopback to this port of the box; returns the host port. */
    int forward(int boxPort) throws IOException {
        int hostPort;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            hostPort = s.getLocalPort();
        }
        String request = "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": "
                + hostPort + ", \"guest_port\": " + boxPort + "}}";
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(apiSocket));
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            ByteBuffer answer = ByteBuffer.allocate(4096);
            while (ch.read(answer) >= 0) {
                if (!answer.hasRemaining()) {
                    break;
                }
            }
            String reply = new String(answer.array(), 0, answer.position(), StandardCharsets.UTF_8);
            if (!reply.contains("\"return\"")) {
                throw new IOException("slirp4netns refused to forward port " + boxPort + ": " + reply);
            }
        }
        return hostPort;
    }

    @Override
    public void close() {
        process.destroy();
    }
}
