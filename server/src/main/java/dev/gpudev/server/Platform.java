package dev.gpudev.server;

import dev.gpudev.api.ApiConfig;
import dev.gpudev.api.ApiServer;
import dev.gpudev.backend.local.GpuInventory;
import dev.gpudev.backend.local.LocalBackend;
import dev.gpudev.backend.local.Sandbox;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.processor.Parts;
import dev.gpudev.processor.Processor;
import dev.gpudev.sshproxy.SshProxy;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Notifications;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.SchedulerState;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.EmbeddedPostgres;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.Users;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/** The whole platform on one machine, wired by hand: database, processor, SSH proxy, API. */
public final class Platform implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Platform.class);

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ApiServer api;
    private final SshProxy proxy;
    private final Path adminToken;
    private final LocalBackend backend;
    private EmbeddedPostgres embedded;

    public Platform(ServerConfig cfg) throws IOException {
        Files.createDirectories(cfg.dataDir());
        Database db = connect(cfg);
        closeables.addFirst(db);
        db.migrate();
        GpuCatalog catalog = GpuCatalog.standard();
        Pgmq pgmq = new Pgmq();
        CommandQueue commands = new CommandQueue(pgmq, cfg.queueName());
        commands.ensureQueue(db);
        Users users = new Users();
        Reservations reservations = new Reservations();
        SshKeys sshKeys = new SshKeys();
        Clock clock = Clock.systemUTC();
        adminToken = Bootstrap.ensureAdminToken(db, users, cfg.dataDir());

        Capacity capacity = capacity(cfg, catalog);
        backend = new LocalBackend(cfg.dataDir(), capacity, Sandbox.detect());
        closeables.addFirst(backend);
        ReservationUsers reservationUsers = new ReservationUsers();
        Disks disks = new Disks();
        CapacityTable capacityTable = new CapacityTable();
        Processor processor = new Processor(new Parts(db, pgmq, commands, reservations, reservationUsers, sshKeys, users, disks,
                new SchedulerState(), capacityTable, new dev.gpudev.store.ProxySessions(), backend, clock), cfg.processor());
        processor.start(); // publishes the capacity first: the API reads it from the database
        closeables.addFirst(processor);
        Notifications.Coalescer wakeUps = new Notifications.Coalescer(db);
        closeables.addFirst(wakeUps);

        // Reachable only from this machine unless the operator names another address for users.
        String bind = "127.0.0.1".equals(cfg.advertisedHost()) ? "127.0.0.1" : "0.0.0.0";
        proxy = new SshProxy(db, sshKeys, reservations, cfg.dataDir().resolve("ssh_proxy_host_key"), bind, cfg.sshPort());
        closeables.addFirst(proxy);
        String adminOnly = null;
        if (!backend.isolates() && !cfg.insecureSingleUser()) {
            adminOnly = "this server cannot isolate environments (bubblewrap is not installed), so only its admin may reserve:"
                    + " install bubblewrap, or start the server with --insecure-single-user if you are its only user";
            log.warn("environments are NOT isolated here (no bubblewrap): only the admin may reserve (--insecure-single-user lets everyone)");
        } else if (!backend.isolates()) {
            log.warn("environments are NOT isolated here (no bubblewrap), and --insecure-single-user lets everyone reserve");
        }
        ApiConfig apiConfig = ApiConfig.fromEnvironment(cfg.apiKeyTtl(), cfg.advertisedHost(), proxy.port(), cfg.processor().limits(),
                cfg.processor().grace(), adminOnly);
        api = new ApiServer(new ApiServer.Parts(db, users, new ApiKeys(), sshKeys, reservations, reservationUsers, disks, pgmq, commands,
                capacityTable, catalog, clock, apiConfig, new AuditLog(), wakeUps)).start(bind, cfg.port());
        closeables.addFirst(api);
        if (embedded != null) {
            embedded.closedByOwner(); // from here on close() stops it, after the rest
        }
        log.info("backend: {}; capacity: {}", backend.describe(), describe(capacity));
    }

    private Database connect(ServerConfig cfg) {
        if (cfg.databaseUrl() != null) {
            return Database.connect(cfg.databaseUrl(), cfg.databaseUser(), cfg.databasePassword(), 20);
        }
        EmbeddedPostgres pg = EmbeddedPostgres.start(cfg.dataDir().resolve("pg-binaries"), cfg.dataDir());
        // Stopped last, after the processor and the API (closeables run newest first); until the platform
        // is up, its own stop hook stays as the safety net.
        closeables.addFirst(pg);
        embedded = pg;
        pg.createDatabase("gpudev");
        return Database.connect(pg.jdbcUrl("gpudev"), pg.appUser(), pg.appPassword(), 20);
    }

    static Capacity capacity(ServerConfig cfg, GpuCatalog catalog) {
        if (cfg.simulatedGpus() != null && !cfg.simulatedGpus().isBlank()) {
            return GpuInventory.simulated(cfg.simulatedGpus(), catalog);
        }
        var gpus = GpuInventory.discover();
        if (gpus.isEmpty()) {
            log.warn("no GPU found by nvidia-smi and no --simulated-gpus given: nothing can be reserved");
        }
        return GpuInventory.fromGpus(gpus, catalog, "local");
    }

    static String describe(Capacity capacity) {
        if (capacity.nodes().isEmpty()) {
            return "no GPUs";
        }
        StringBuilder sb = new StringBuilder();
        for (var n : capacity.nodes()) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(n.name()).append(": ").append(n.gpus().size()).append(" x ").append(n.gpuType())
                    .append(n.simulated() ? " (simulated)" : "");
        }
        return sb.toString();
    }

    public int apiPort() {
        return api.port();
    }

    public int sshPort() {
        return proxy.port();
    }

    public Path adminToken() {
        return adminToken;
    }

    @Override
    public void close() {
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("while stopping: {}", e.getMessage());
            }
        }
    }

    static URI apiUrl(String host, int port) {
        return URI.create("http://" + host + ":" + port);
    }
}
