package dev.gpudev.sshproxy;

import dev.gpudev.core.SshPublicKey;
import dev.gpudev.store.Database;
import dev.gpudev.store.ProxySessions;
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
 * no commands, no remote listening: everything else is refused and logged. A connection that has not
 * logged in is given {@link #AUTH_TIMEOUT} to do so, and only so many wait at once (in all and per
 * address): a flood of half-open connections cannot hold the proxy's sockets.
 */
public final class SshProxy implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SshProxy.class);

    private final SshServer server;
    private final String proxyId = java.util.UUID.randomUUID().toString();
    private final ProxySessions proxySessions = new ProxySessions();
    private final java.util.concurrent.ScheduledExecutorService heartbeat = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "proxy-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private final java.util.concurrent.atomic.AtomicLong tunnelIds = new java.util.concurrent.atomic.AtomicLong();
    private static final org.apache.sshd.common.AttributeRepository.AttributeKey<java.util.List<String>> OPEN =
            new org.apache.sshd.common.AttributeRepository.AttributeKey<>();

    /**
     * How long a connection may take to log in, and how many may wait to at once: in all, and from one
     * address (not counted for loopback: on a one-machine server every user comes from there).
     */
    record Waiting(java.time.Duration authTimeout, int max, int maxPerAddress) {
        static final Waiting DEFAULTS = new Waiting(java.time.Duration.ofSeconds(20), 200, 20);
    }

    private final java.util.concurrent.atomic.AtomicInteger unauthenticated = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> unauthenticatedByAddress = new java.util.concurrent.ConcurrentHashMap<>();
    private static final org.apache.sshd.common.AttributeRepository.AttributeKey<String> WAITING =
            new org.apache.sshd.common.AttributeRepository.AttributeKey<>();
    private final java.time.Clock clock;

    public SshProxy(Database db, SshKeys sshKeys, Reservations reservations, Path hostKey, String bindHost, int port)
            throws IOException {
        this(db, sshKeys, reservations, hostKey, bindHost, port, java.time.Clock.systemUTC());
    }

    public SshProxy(Database db, SshKeys sshKeys, Reservations reservations, Path hostKey, String bindHost, int port,
                    java.time.Clock clock) throws IOException {
        this(db, sshKeys, reservations, hostKey, bindHost, port, clock, Waiting.DEFAULTS);
    }

    SshProxy(Database db, SshKeys sshKeys, Reservations reservations, Path hostKey, String bindHost, int port,
             java.time.Clock clock, Waiting waiting) throws IOException {
        this.clock = clock;
        server = SshServer.setUpDefaultServer();
        org.apache.sshd.core.CoreModuleProperties.AUTH_TIMEOUT.set(server, waiting.authTimeout());
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
                    record(db, session, user, target);
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
        server.addSessionListener(new org.apache.sshd.common.session.SessionListener() {
            @Override
            public void sessionCreated(Session session) {
                String address = address(session);
                int all = unauthenticated.incrementAndGet();
                int mine = unauthenticatedByAddress.merge(address, 1, Integer::sum);
                session.setAttribute(WAITING, address);
                boolean loopback = address.equals("127.0.0.1") || address.equals("0:0:0:0:0:0:0:1") || address.equals("::1");
                if (all > waiting.max() || (!loopback && mine > waiting.maxPerAddress())) {
                    log.warn("proxy: refused a connection from {}: {} waiting to log in from it, {} in all", address, mine, all);
                    session.close(true);
                }
            }

            @Override
            public void sessionEvent(Session session, Event event) {
                if (event == Event.Authenticated) {
                    loggedIn(session);
                }
            }

            @Override
            public void sessionClosed(Session session) {
                loggedIn(session); // or gone before it did

                java.util.List<String> open = session.getAttribute(OPEN);
                if (open != null && !open.isEmpty()) {
                    try {
                        db.inTransaction(c -> {
                            for (String id : open) {
                                proxySessions.closed(c, id);
                            }
                            return null;
                        });
                    } catch (RuntimeException e) {
                        log.warn("proxy: could not record closed tunnels: {}", e.getMessage());
                    }
                }
            }
        });
        server.start();
        // Open tunnels are use of an environment (idle detection): said again every 30 s while they last.
        heartbeat.scheduleWithFixedDelay(() -> {
            try {
                java.time.Instant now = clock.instant();
                db.inTransaction(c -> {
                    proxySessions.heartbeat(c, proxyId, now, now.minus(java.time.Duration.ofMinutes(5)));
                    return null;
                });
            } catch (RuntimeException e) {
                log.warn("proxy: heartbeat failed: {}", e.getMessage());
            }
        }, 30, 30, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** A connection no longer waits to log in (it did, or it is gone). */
    private void loggedIn(Session session) {
        String address = session.removeAttribute(WAITING);
        if (address != null) {
            unauthenticated.decrementAndGet();
            unauthenticatedByAddress.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
        }
    }

    private static String address(Session session) {
        var a = session.getIoSession().getRemoteAddress();
        return a instanceof java.net.InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    /** Connections waiting to log in now (tests). */
    int waitingToLogIn() {
        return unauthenticated.get();
    }

    /** A tunnel opened: the processor counts it as use of the environment it leads to. */
    private void record(Database db, Session session, String user, SshdSocketAddress target) {
        String id = proxyId + "/" + tunnelIds.incrementAndGet();
        try {
            db.inTransaction(c -> {
                proxySessions.opened(c, id, proxyId, user, new ProxySessions.Endpoint(target.getHostName(), target.getPort()), clock.instant());
                return null;
            });
            session.computeAttributeIfAbsent(OPEN, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(id);
        } catch (RuntimeException e) {
            log.warn("proxy: could not record a tunnel: {}", e.getMessage());
        }
    }

    /** For tests: the heartbeat now rather than in 30 s. */
    void heartbeatNow(Database db) {
        java.time.Instant now = clock.instant();
        db.inTransaction(c -> {
            proxySessions.heartbeat(c, proxyId, now, now.minus(java.time.Duration.ofMinutes(5)));
            return null;
        });
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
        heartbeat.shutdownNow();
        try {
            server.stop(true);
        } catch (IOException e) {
            log.warn("could not stop the SSH proxy: {}", e.getMessage());
        }
    }
}
