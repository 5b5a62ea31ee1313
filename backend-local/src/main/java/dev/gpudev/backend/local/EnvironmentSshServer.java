package dev.gpudev.backend.local;

import dev.gpudev.core.SshPublicKey;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.common.util.threads.ThreadUtils;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.TcpipServerChannel;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.shell.InvertedShellWrapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The SSH endpoint of one local environment: accepts its users' keys (ed25519 included) and runs a
 * login shell or a command in the environment's box. Listens on 127.0.0.1 only; users reach it
 * through the proxy. Tunnels go only to the environment's own ports (Jupyter, TensorBoard: "-L
 * 8888:127.0.0.1:8888"), reached inside its own network; never to the host's services. No remote
 * forwarding, no agent or X11 forwarding.
 */
final class EnvironmentSshServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EnvironmentSshServer.class);

    private final SshServer server;
    private final Set<String> fingerprints = new CopyOnWriteArraySet<>();
    private final AtomicInteger openSessions = new AtomicInteger();
    private final Box box;
    /** Host ports this environment's tunnels may reach (those forwarded into its box, and its Jupyter on the host's network). */
    private final Set<Integer> reachable = new CopyOnWriteArraySet<>();

    EnvironmentSshServer(String name, Path hostKey, Box box, int port) throws IOException {
        this.box = box;
        server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(port);
        var keys = new SimpleGeneratorHostKeyProvider(hostKey);
        keys.setAlgorithm("EC");
        keys.loadKeys(null); // made now, so that it is private from the start
        java.nio.file.Files.setPosixFilePermissions(hostKey, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        server.setKeyPairProvider(keys);
        server.setPublickeyAuthenticator((username, key, session) -> allowed(key));
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setChannelFactories(List.of(ChannelSessionFactory.INSTANCE, new Tunnels()));
        server.setForwardingFilter(new org.apache.sshd.server.forward.ForwardingFilter() {
            @Override
            public boolean canForwardAgent(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canForwardX11(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canListen(SshdSocketAddress address, Session session) {
                log.warn("environment {}: refused remote forwarding of {}", name, address);
                return false;
            }

            @Override
            public boolean canConnect(Type type, SshdSocketAddress address, Session session) {
                return type == Type.Direct && "127.0.0.1".equals(address.getHostName()) && reachable.contains(address.getPort());
            }
        });
        server.setShellFactory(channel -> command(channel, List.of(box.shell(), "-l")));
        server.setCommandFactory((channel, cmd) -> command(channel, List.of(box.shell(), "-c", cmd)));
        server.addSessionListener(new org.apache.sshd.common.session.SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                openSessions.incrementAndGet();
            }

            @Override
            public void sessionClosed(Session session) {
                openSessions.decrementAndGet();
            }
        });
        server.start();
        log.info("environment {} listens on 127.0.0.1:{}", name, server.getPort());
    }

    /** Lets tunnels reach this host port too (Jupyter, when the box shares the host's network). */
    void allow(int hostPort) {
        reachable.add(hostPort);
    }

    private Command command(ChannelSession channel, List<String> argv) {
        // A pty-req sets TERM in the channel's environment (and its modes, when the client sends any).
        var requested = channel.getEnvironment();
        String term = requested.getEnv().get(org.apache.sshd.server.Environment.ENV_TERM);
        boolean pty = !requested.getPtyModes().isEmpty() || term != null;
        List<String> cmd = argv;
        if (pty) {
            // script(1) gives the shell a real pseudo-terminal: job control, editing, full-screen programs.
            List<String> script = new ArrayList<>(box.hostTool("/usr/bin/script"));
            script.addAll(List.of("-qfec", shellQuote(argv), "/dev/null"));
            cmd = script;
        }
        Map<String, String> extra = term == null ? Map.of() : Map.of("TERM", term.replaceAll("[^A-Za-z0-9._+-]", ""));
        return new InvertedShellWrapper(new SandboxShell(box.command(cmd, extra), pty));
    }

    static String shellQuote(List<String> argv) {
        List<String> out = new ArrayList<>();
        for (String a : argv) {
            out.add("'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", out);
    }

    /**
     * direct-tcpip ("-L"): a tunnel to 127.0.0.1:P (or localhost) means port P of the environment; in
     * a box with its own network that is forwarded into it, and the tunnel goes there. Any other target
     * is refused.
     */
    private final class Tunnels extends TcpipServerChannel.TcpipFactory {
        Tunnels() {
            super(TcpForwardingFilter.Type.Direct);
        }

        @Override
        public Channel createChannel(Session session) {
            return new TcpipServerChannel(getType(), ThreadUtils.noClose(getExecutorService())) {
                @Override
                protected OpenFuture doInit(Buffer buffer) {
                    String host = buffer.getString();
                    int port = buffer.getInt();
                    String originHost = buffer.getString();
                    int originPort = buffer.getInt();
                    int target = -1;
                    if (List.of("127.0.0.1", "localhost", "::1").contains(host) && port > 0 && port < 65536) {
                        try {
                            target = box.ownNetwork() ? box.forward(port) : port;
                        } catch (IOException e) {
                            log.warn("could not forward port {} into the environment: {}", port, e.getMessage());
                        }
                    }
                    if (target > 0 && box.ownNetwork()) {
                        reachable.add(target);
                        // the forward lives as long as a tunnel uses it, not as long as the environment
                        int boxPort = port;
                        int hostPort = target;
                        addCloseFutureListener(f -> {
                            box.unforward(boxPort);
                            if (!box.forwarding(boxPort)) {
                                reachable.remove(hostPort);
                            }
                        });
                    }
                    Buffer mapped = new ByteArrayBuffer();
                    mapped.putString(target > 0 ? "127.0.0.1" : "0.0.0.0");
                    mapped.putInt(target > 0 ? target : 0);
                    mapped.putString(originHost);
                    mapped.putInt(originPort);
                    return super.doInit(mapped);
                }
            };
        }
    }

    private boolean allowed(PublicKey key) {
        try {
            return fingerprints.contains(SshPublicKey.parse(PublicKeyEntry.toString(key)).fingerprint());
        } catch (RuntimeException e) {
            return false;
        }
    }

    void authorize(List<String> publicKeys) {
        Set<String> next = new java.util.HashSet<>();
        for (String k : publicKeys) {
            try {
                next.add(SshPublicKey.parse(k).fingerprint());
            } catch (RuntimeException e) {
                log.warn("a stored public key does not parse and is left out: {}", e.getMessage());
            }
        }
        fingerprints.retainAll(next);
        fingerprints.addAll(next);
    }

    int port() {
        return server.getPort();
    }

    /** Whether this key may log in now. */
    boolean accepts(String publicKey) {
        try {
            return fingerprints.contains(SshPublicKey.parse(publicKey).fingerprint());
        } catch (RuntimeException e) {
            return false;
        }
    }

    int openSessions() {
        return openSessions.get();
    }

    boolean running() {
        return server.isOpen();
    }

    @Override
    public void close() {
        try {
            server.stop(true);
        } catch (IOException e) {
            log.warn("could not stop SSH endpoint: {}", e.getMessage());
        }
    }
}
