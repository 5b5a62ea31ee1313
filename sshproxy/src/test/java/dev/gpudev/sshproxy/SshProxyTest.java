package dev.gpudev.sshproxy;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.SshPublicKey;
import dev.gpudev.core.StatusChange;
import dev.gpudev.core.Transition;
import dev.gpudev.store.Database;
import dev.gpudev.store.ProxySessions;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelDirectTcpip;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jump host with a real SSH client: tunnels only to one's own environments, each recorded while it is open. */
class SshProxyTest {
    @TempDir
    Path dir;
    Database db;
    SshProxy proxy;
    ServerSocket environment;
    SshClient client;
    KeyPair alice;

    @BeforeEach
    void start() throws Exception {
        db = TestDatabase.fresh();
        environment = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        alice = gen.generateKeyPair();
        String pub = PublicKeyEntry.toString(alice.getPublic());
        Reservations reservations = new Reservations();
        db.inTransaction(c -> {
            long id = new Users().ensure(c, "alice", false).userId();
            new SshKeys().add(c, id, pub.substring(0, pub.indexOf(' ')), pub, SshPublicKey.parse(pub).fingerprint(), "t");
            Instant now = Instant.now();
            var r = new Reservation(UUID.randomUUID(), id, "alice", ReservationStatus.QUEUED, "h100", 1, BigDecimal.ONE, null, now, null, null,
                    null, null, null, "queued", null, null, List.of(new StatusChange(ReservationStatus.QUEUED, now, "submitted")));
            reservations.insert(c, r);
            var admitted = reservations.transition(c, r.id(), ReservationStatus.QUEUED, Transition.admit(Reservation.Placement.of("n0", 1)), now)
                    .orElseThrow();
            var running = new Reservation.Placement(List.of(new Reservation.Placement.Slice("n0", 1, List.of(), "127.0.0.1",
                    environment.getLocalPort())));
            reservations.transition(c, r.id(), ReservationStatus.PREPARING, Transition.activate(admitted, now, running, "running"), now);
            new Users().ensure(c, "mallory", false);
            return null;
        });
        proxy = new SshProxy(db, new SshKeys(), reservations, dir.resolve("host_key"), "127.0.0.1", 0);
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier((s, a, k) -> true);
        client.start();
    }

    @AfterEach
    void stop() throws Exception {
        client.stop();
        proxy.close();
        environment.close();
        db.close();
    }

    ClientSession login(String user, KeyPair key) throws Exception {
        ClientSession s = client.connect(user, "127.0.0.1", proxy.port()).verify(Duration.ofSeconds(5)).getSession();
        s.addPublicKeyIdentity(key);
        s.auth().verify(Duration.ofSeconds(5));
        return s;
    }

    Map<ProxySessions.Endpoint, Integer> open() {
        return db.query(c -> new ProxySessions().open(c, Instant.now().minus(Duration.ofMinutes(2))));
    }

    @Test
    void aTunnelToOnesOwnEnvironmentIsRecordedWhileOpenAndOthersAreRefused() throws Exception {
        var to = new ProxySessions.Endpoint("127.0.0.1", environment.getLocalPort());
        try (ClientSession s = login("alice", alice)) {
            ChannelDirectTcpip tunnel = s.createDirectTcpipChannel(new SshdSocketAddress("localhost", 0),
                    new SshdSocketAddress("127.0.0.1", environment.getLocalPort()));
            tunnel.open().verify(Duration.ofSeconds(5));
            environment.accept().close();
            assertEquals(Map.of(to, 1), open(), "the open tunnel counts as use of the environment");
            proxy.heartbeatNow(db);
            assertEquals(Map.of(to, 1), open());
            ChannelDirectTcpip elsewhere = s.createDirectTcpipChannel(new SshdSocketAddress("localhost", 0),
                    new SshdSocketAddress("127.0.0.1", 5432));
            assertThrows(Exception.class, () -> elsewhere.open().verify(Duration.ofSeconds(5)), "not an environment of hers");
        }
        Instant deadline = Instant.now().plusSeconds(5);
        while (!open().isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(20);
        }
        assertTrue(open().isEmpty(), "closed with the session");
    }

    @Test
    void aHostKeyMadeOnceForEveryReplicaIsTheOneUsed() throws Exception {
        // As the Helm chart makes it (genPrivateKey "ecdsa": a PEM EC key), read-only for the proxy.
        Path pem = dir.resolve("ssh_host_key");
        Process openssl = new ProcessBuilder("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pem.toString())
                .redirectErrorStream(true).start();
        assertEquals(0, openssl.waitFor());
        pem.toFile().setWritable(false);
        String before = java.nio.file.Files.readString(pem);
        try (SshProxy replica = new SshProxy(db, new SshKeys(), new Reservations(), pem, "127.0.0.1", 0)) {
            java.security.PublicKey[] seen = new java.security.PublicKey[1];
            SshClient c = SshClient.setUpDefaultClient();
            c.setServerKeyVerifier((s, a, k) -> {
                seen[0] = k;
                return true;
            });
            c.start();
            try (ClientSession s = c.connect("alice", "127.0.0.1", replica.port()).verify(Duration.ofSeconds(5)).getSession()) {
                s.addPublicKeyIdentity(alice);
                s.auth().verify(Duration.ofSeconds(5));
            } finally {
                c.stop();
            }
            var expected = org.apache.sshd.common.util.security.SecurityUtils.loadKeyPairIdentities(null, null,
                    java.nio.file.Files.newInputStream(pem), null).iterator().next().getPublic();
            assertEquals(expected, seen[0], "the key of the file, not one made up");
        }
        assertEquals(before, java.nio.file.Files.readString(pem), "and the file is left as it was");
    }

    @Test
    void aKeyOfNobodyOrOfAnotherUserGetsNoSession() throws Exception {
        assertThrows(Exception.class, () -> login("mallory", alice), "alice's key is not mallory's");
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        assertThrows(Exception.class, () -> login("alice", gen.generateKeyPair()), "an unregistered key");
    }

    @Test
    void connectionsThatNeverLogInAreFewAndShortLived() throws Exception {
        var waiting = new SshProxy.Waiting(Duration.ofSeconds(1), 5, 2);
        try (SshProxy small = new SshProxy(db, new SshKeys(), new Reservations(), dir.resolve("host_key2"), "127.0.0.1", 0,
                java.time.Clock.systemUTC(), waiting)) {
            java.util.List<java.net.Socket> idle = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 12; i++) {
                    idle.add(new java.net.Socket("127.0.0.1", small.port())); // connect, and never say anything
                }
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (small.waitingToLogIn() > 0 && System.nanoTime() < deadline) {
                    assertTrue(small.waitingToLogIn() <= 5, "at most 5 wait to log in: " + small.waitingToLogIn());
                    Thread.sleep(20);
                }
                assertEquals(0, small.waitingToLogIn(), "each is closed after the login timeout");
                for (java.net.Socket s : idle) {
                    s.setSoTimeout(3000);
                    var in = s.getInputStream();
                    int read;
                    do {
                        read = in.read();
                    } while (read >= 0); // the server's version line, then the close
                }
            } finally {
                for (java.net.Socket s : idle) {
                    s.close();
                }
            }
            // a real user still logs in (the proxy is not left full)
            ClientSession s = client.connect("alice", "127.0.0.1", small.port()).verify(Duration.ofSeconds(5)).getSession();
            s.addPublicKeyIdentity(alice);
            s.auth().verify(Duration.ofSeconds(5));
            s.close();
        }
    }
}
