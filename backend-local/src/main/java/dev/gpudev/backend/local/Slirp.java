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
    private final ProcessHandle process;
    private final Path apiSocket;

    private Slirp(ProcessHandle process, Path apiSocket) {
        this.process = process;
        this.apiSocket = apiSocket;
    }

    /** A port of the box forwarded from the host's loopback, and how many tunnels use it now. */
    static final class Forward {
        private final int id;
        private final int hostPort;
        int users;

        Forward(int id, int hostPort) {
            this.id = id;
            this.hostPort = hostPort;
        }

        int hostPort() {
            return hostPort;
        }
    }

    long pid() {
        return process.pid();
    }

    Path apiSocket() {
        return apiSocket;
    }

    /** When it started (with its pid, what tells it from a process that took its pid later). */
    String started() {
        return process.info().startInstant().map(Object::toString).orElse("");
    }

    /** The helper a server before this one started for a box it takes over; null when it is gone (or its pid is another's). */
    static Slirp adopt(long pid, String started, Path apiSocket) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> started != null && h.info().startInstant().map(i -> i.toString().equals(started)).orElse(false))
                .map(h -> new Slirp(h, apiSocket)).orElse(null);
    }

    /**
     * @param pid      a process of the namespaces to join (the box's keeper)
     * @param asUid    without root: run as this uid (the owner of the namespaces); -1 with root
     * @param prefix   what it runs under (joining the box's control groups), or nothing
     */
    static Slirp start(String slirp4netns, long pid, Path envDir, int asUid, List<String> prefix) throws IOException {
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
        List<String> full = new ArrayList<>(prefix);
        full.addAll(cmd);
        Process p = new ProcessBuilder(full).redirectErrorStream(true)
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
        return new Slirp(p.toHandle(), api);
    }

    /** Forwards a free port of the host's loopback to this port of the box. */
    Forward forward(int boxPort) throws IOException {
        int hostPort;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            hostPort = s.getLocalPort();
        }
        String reply = call("{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": "
                + hostPort + ", \"guest_port\": " + boxPort + "}}");
        var id = java.util.regex.Pattern.compile("\"id\"\\s*:\\s*(\\d+)").matcher(reply);
        if (!reply.contains("\"return\"") || !id.find()) {
            throw new IOException("slirp4netns refused to forward port " + boxPort + ": " + reply);
        }
        return new Forward(Integer.parseInt(id.group(1)), hostPort);
    }

    /** Removes a forward: its host port no longer leads into the box. */
    void remove(Forward f) throws IOException {
        String reply = call("{\"execute\": \"remove_hostfwd\", \"arguments\": {\"id\": " + f.id + "}}");
        if (!reply.contains("\"return\"")) {
            throw new IOException("slirp4netns did not remove forward " + f.id + ": " + reply);
        }
    }

    private String call(String request) throws IOException {
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
            return new String(answer.array(), 0, answer.position(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        process.destroy();
    }
}
