package dev.gpudev.server;

import dev.gpudev.api.ApiConfig;
import dev.gpudev.api.ApiServer;
import dev.gpudev.backend.local.GpuInventory;
import dev.gpudev.backend.local.LocalBackend;
import dev.gpudev.backend.kubernetes.KubernetesBackendFactory;
import dev.gpudev.backend.local.LocalBackendFactory;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendFactory;
import dev.gpudev.core.BackendTraits;
import dev.gpudev.store.ProxySessions;
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
import dev.gpudev.store.UiSessions;
import dev.gpudev.store.UsageSamples;
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
import java.util.Map;

/**
 * The platform, or one part of it (its role), wired by hand: database, processor and backend, SSH
 * proxy, API. All of it on one machine by default; as separate processes on one shared database in a
 * cluster, where the API never calls the backend (it reads the capacity the processor publishes) and
 * the proxy finds routes in the database.
 */
public final class Platform implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Platform.class);

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ProcessorHealth health;

    /** Where a processor of its own answers /health (-1: this process is not one). */
    public int healthPort() {
        return health == null ? -1 : health.port();
    }
    private final ApiServer api;
    private final SshProxy proxy;
    private final Path adminToken;
    private final Backend backend;
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
        adminToken = cfg.role().runsApi() ? Bootstrap.ensureAdminToken(db, users, cfg.dataDir()) : null;
        ReservationUsers reservationUsers = new ReservationUsers();
        Disks disks = new Disks();
        CapacityTable capacityTable = new CapacityTable();

        if (cfg.role().runsProcessor()) {
            backend = backend(cfg, catalog, clock);
            closeables.addFirst(backend);
            if (backend instanceof LocalBackend local) {
                migrateLegacyDisks(db, disks, local);
            }
            Processor processor = new Processor(new Parts(db, pgmq, commands, reservations, reservationUsers, sshKeys, users, disks,
                    new SchedulerState(), capacityTable, new ProxySessions(), new UsageSamples(), new dev.gpudev.store.Leases(), backend, clock),
                    cfg.processor());
            processor.start(); // publishes the capacity first: the API reads it from the database
            closeables.addFirst(processor);
            if (cfg.role() == ServerConfig.Role.processor) { // its own process: probes ask it on the API's port
                health = new ProcessorHealth(processor, "127.0.0.1".equals(cfg.advertisedHost()) ? "127.0.0.1" : "0.0.0.0", cfg.port());
                closeables.addFirst(health);
            }
        } else {
            backend = null;
        }

        // Reachable only from this machine unless the operator names another address for users.
        String bind = "127.0.0.1".equals(cfg.advertisedHost()) ? "127.0.0.1" : "0.0.0.0";
        if (cfg.role().runsProxy()) {
            Path hostKey = cfg.sshHostKey() != null ? cfg.sshHostKey() : cfg.dataDir().resolve("ssh_proxy_host_key");
            proxy = new SshProxy(db, sshKeys, reservations, hostKey, bind, cfg.sshPort(), clock);
            closeables.addFirst(proxy);
        } else {
            proxy = null;
        }

        if (cfg.role().runsApi()) {
            Notifications.Coalescer wakeUps = new Notifications.Coalescer(db);
            closeables.addFirst(wakeUps);
            // What the backend is, as configured; the processor publishes what it really is (the API reads that first).
            BackendTraits traits = backend != null ? backend.traits() : factory(cfg, catalog, clock).traits();
            if (!traits.isolates()) {
                log.warn(cfg.insecureSingleUser() ? "environments are NOT isolated here (no bubblewrap), and --insecure-single-user lets everyone reserve"
                        : "environments are NOT isolated here (no bubblewrap): only the admin may reserve (--insecure-single-user lets everyone)");
            }
            int proxyPort = cfg.proxyPort() > 0 ? cfg.proxyPort() : proxy != null ? proxy.port() : cfg.sshPort();
            ApiConfig apiConfig = ApiConfig.fromEnvironment(cfg.apiKeyTtl(), cfg.proxyHost(), proxyPort, cfg.processor().limits(), cfg.queueLimits(),
                    cfg.processor().grace()).withBackend(traits, cfg.insecureSingleUser()).withFairShare(cfg.processor().fairShare())
                    .withWebhooks(cfg.processor().webhooks()).withAllowedRegistries(cfg.local().images().allowed());
            api = new ApiServer(new ApiServer.Parts(db, users, new ApiKeys(), sshKeys, reservations, reservationUsers, disks, pgmq, commands,
                    capacityTable, catalog, clock, apiConfig, new AuditLog(), wakeUps, new UiSessions(), new UsageSamples())).start(bind, cfg.port());
            closeables.addFirst(api);
        } else {
            api = null;
        }
        if (embedded != null) {
            embedded.closedByOwner(); // from here on close() stops it, after the rest
        }
        log.info("role: {}{}", cfg.role(), backend == null ? "" : "; backend: " + backend.describe() + "; capacity: " + describe(backend.capacity()));
    }

    /** Once, under the scheduler's lock (nothing is admitted meanwhile): disks kept under owners' names move to their ids. */
    private static void migrateLegacyDisks(Database db, Disks disks, LocalBackend local) {
        db.inTransaction(c -> {
            new SchedulerState().lock(c);
            try {
                local.migrateLegacyDisks(disks.all(c).stream()
                        .map(d -> new dev.gpudev.backend.spi.DiskRef(d.id(), d.userId(), d.username(), d.name())).toList());
            } catch (IOException e) {
                log.warn("disks kept under their owners' names were not all moved to their ids: {}", e.getMessage());
            }
            return null;
        });
    }

    /** The kinds of backend, by the name `--backend` gives: chosen by data, each knowing what it is before it is made. */
    private static final Map<String, java.util.function.BiFunction<ServerConfig, Clock, BackendFactory>> KINDS = Map.of(
            "local", (cfg, clock) -> new LocalBackendFactory(cfg.dataDir(), () -> capacity(cfg, GpuCatalog.standard()), cfg.local()),
            "kubernetes", (cfg, clock) -> new KubernetesBackendFactory(cfg.kubernetes().kubeconfig(), cfg.kubernetes().context(),
                    cfg.kubernetes().settings(), clock));

    /** The names `--backend` takes. */
    static java.util.Set<String> backendKinds() {
        return KINDS.keySet();
    }

    private static BackendFactory factory(ServerConfig cfg, GpuCatalog catalog, Clock clock) {
        var kind = KINDS.get(cfg.backend());
        if (kind == null) {
            throw new IllegalArgumentException("--backend must be one of " + new java.util.TreeSet<>(KINDS.keySet()) + ", not '" + cfg.backend() + "'");
        }
        return kind.apply(cfg, clock);
    }

    private static Backend backend(ServerConfig cfg, GpuCatalog catalog, Clock clock) throws IOException {
        return factory(cfg, catalog, clock).create();
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

    /** The API's port; -1 when this process does not run it. */
    public int apiPort() {
        return api == null ? -1 : api.port();
    }

    /** The SSH proxy's port; -1 when this process does not run it. */
    public int sshPort() {
        return proxy == null ? -1 : proxy.port();
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
