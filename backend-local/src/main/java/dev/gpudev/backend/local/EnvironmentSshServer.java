package dev.gpudev.backend.local;

import dev.gpudev.core.SshPublicKey;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
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
 * The SSH endpoint of one local environment: accepts its users' keys (ed25519 included), runs a
 * login shell or a command in the sandbox, and forwards ports for them. Listens on 127.0.0.1 only;
 * users reach it through the proxy.
 */
final class EnvironmentSshServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EnvironmentSshServer.class);

    private final SshServer server;
    private final Set<String> fingerprints = new CopyOnWriteArraySet<>();
    private final AtomicInteger openSessions = new AtomicInteger();

    EnvironmentSshServer(String name, Path hostKey, Path home, Path hiddenDataDir, Sandbox sandbox,
                         Map<String, String> env, int port) throws IOException {
        server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(port);
        var keys = new SimpleGeneratorHostKeyProvider(hostKey);
        keys.setAlgorithm("EC");
        server.setKeyPairProvider(keys);
        server.setPublickeyAuthenticator((username, key, session) -> allowed(key));
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setForwardingFilter(AcceptAllForwardingFilter.INSTANCE);
        server.setShellFactory(channel -> command(sandbox, home, hiddenDataDir, env, channel,
                List.of("/bin/bash", "-l")));
        server.setCommandFactory((channel, cmd) -> command(sandbox, home, hiddenDataDir, env, channel,
                List.of("/bin/bash", "-c", cmd)));
        server.addSessionListener(new org.apache.sshd.common.session.SessionListener() {
            @Override
            public void sessionCreated(org.apache.sshd.common.session.Session session) {
                openSessions.incrementAndGet();
            }

            @Override
            public void sessionClosed(org.apache.sshd.common.session.Session session) {
                openSessions.decrementAndGet();
            }
        });
        server.start();
        log.info("environment {} listens on 127.0.0.1:{}", name, server.getPort());
    }

    private static Command command(Sandbox sandbox, Path home, Path hidden, Map<String, String> env,
                                   ChannelSession channel, List<String> argv) {
        // A pty-req sets TERM in the channel's environment (and its modes, when the client sends any).
        var requested = channel.getEnvironment();
        boolean pty = !requested.getPtyModes().isEmpty() || requested.getEnv().containsKey(org.apache.sshd.server.Environment.ENV_TERM);
        List<String> cmd = argv;
        if (pty) {
            // script(1) gives the shell a real pseudo-terminal: job control, editing, full-screen programs.
            cmd = List.of("/usr/bin/script", "-qfec", shellQuote(argv), "/dev/null");
        }
        return new InvertedShellWrapper(new SandboxShell(sandbox.wrap(cmd, home, hidden, env), pty));
    }

    static String shellQuote(List<String> argv) {
        List<String> out = new ArrayList<>();
        for (String a : argv) {
            out.add("'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", out);
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
            next.add(SshPublicKey.parse(k).fingerprint());
        }
        fingerprints.retainAll(next);
        fingerprints.addAll(next);
    }

    int port() {
        return server.getPort();
    }

    int openSessions() {
        return openSessions.get();
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
