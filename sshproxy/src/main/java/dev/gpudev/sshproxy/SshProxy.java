package dev.gpudev.sshproxy;

import dev.gpudev.core.SshPublicKey;
import dev.gpudev.store.Database;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;

/**
 * The jump host. Users log in with a key registered to their account and may open a tunnel
 * (direct-tcpip, what `ssh -J` uses) only to the SSH endpoint of an environment they own. No shell,
 * no commands, no remote listening: everything else is refused and logged.
 */
public final class SshProxy implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SshProxy.class);

    private final SshServer server;

    public SshProxy(Database db, SshKeys sshKeys, Reservations reservations, Path hostKey, String bindHost, int port)
            throws IOException {
        server = SshServer.setUpDefaultServer();
        server.setHost(bindHost);
        server.setPort(port);
        var keys = new SimpleGeneratorHostKeyProvider(hostKey);
        keys.setAlgorithm("EC");
        server.setKeyPairProvider(keys);
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setPublickeyAuthenticator((username, key, session) -> {
            boolean ok = registered(db, sshKeys, username, key);
            if (!ok) {
                log.info("proxy: refused key {} for user '{}' from {}", fingerprint(key), clean(username), session.getClientAddress());
            }
            return ok;
        });
        TcpForwardingFilter tunnels = new TcpForwardingFilter() {
            @Override
            public boolean canListen(SshdSocketAddress address, Session session) {
                log.warn("proxy: refused remote listen on {} for '{}'", address, clean(session.getUsername()));
                return false;
            }

            @Override
            public boolean canConnect(Type type, SshdSocketAddress target, Session session) {
                String user = session.getUsername();
                boolean ok = type == Type.Direct && db.query(c -> reservations.ownsEndpoint(c, user,
                        target.getHostName(), target.getPort()));
                if (ok) {
                    log.info("proxy: '{}' connects to {}:{}", clean(user), target.getHostName(), target.getPort());
                } else {
                    log.warn("proxy: refused '{}' a tunnel to {}:{}: not an environment they own", clean(user),
                            target.getHostName(), target.getPort());
                }
                return ok;
            }
        };
        server.setForwardingFilter(ForwardingFilter.asForwardingFilter(RejectAllForwardingFilter.INSTANCE,
                RejectAllForwardingFilter.INSTANCE, tunnels));
        server.setShellFactory(null);
        server.setCommandFactory(null);
        server.start();
    }

    private static boolean registered(Database db, SshKeys sshKeys, String username, PublicKey key) {
        try {
            String fp = SshPublicKey.parse(PublicKeyEntry.toString(key)).fingerprint();
            return db.query(c -> sshKeys.forUsername(c, username)).stream().anyMatch(k -> k.fingerprint().equals(fp));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String fingerprint(PublicKey key) {
        try {
            return SshPublicKey.parse(PublicKeyEntry.toString(key)).fingerprint();
        } catch (RuntimeException e) {
            return "(unreadable key)";
        }
    }

    /** User-supplied names go into logs: keep them printable and short. */
    private static String clean(String s) {
        if (s == null) {
            return "";
        }
        String c = s.replaceAll("[^A-Za-z0-9._@-]", "?");
        return c.length() > 64 ? c.substring(0, 64) : c;
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        try {
            server.stop(true);
        } catch (IOException e) {
            log.warn("could not stop the SSH proxy: {}", e.getMessage());
        }
    }
}
