package dev.gpudev.server;

import dev.gpudev.core.QueueLimits;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.ValidationException;
import dev.gpudev.processor.ProcessorSettings;
import dev.gpudev.store.CommandQueue;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** `gpu-dev server`: the whole platform on this machine, on embedded defaults. */
@Command(name = "gpu-dev server", mixinStandardHelpOptions = true, subcommands = {Doctor.class, AdminToken.class, Render.class, StopEnvironments.class},
        description = "Runs the API, the job processor, the SSH proxy and (unless --database-url) an embedded PostgreSQL; "
                + "or one of them (--role).")
public final class Main implements Callable<Integer> {

    @Option(names = "--port", description = "API port (default ${DEFAULT-VALUE})", defaultValue = "8080")
    int port;

    @Option(names = "--ssh-port", description = "SSH proxy port (default ${DEFAULT-VALUE})", defaultValue = "2222")
    int sshPort;

    @Option(names = "--host", description = "address users reach this machine at (default ${DEFAULT-VALUE}; "
            + "anything else listens on all interfaces)", defaultValue = "127.0.0.1")
    String host;

    @Option(names = "--data-dir", description = "state: database, homes, keys (default $GPUDEV_HOME, else ~/.gpudev/server)")
    Path dataDir;

    @Option(names = "--database-url", description = "external PostgreSQL, postgresql://user:password@host:port/db "
            + "(else POSTGRES_HOST/PORT/USER/PASSWORD/DB, else embedded)")
    String databaseUrl;

    @Option(names = "--backend", description = "local or kubernetes (default ${DEFAULT-VALUE})", defaultValue = "local")
    String backend;

    @Option(names = "--role", description = "all, api, processor or proxy: the whole platform or one part of it, on a shared "
            + "--database-url (default ${DEFAULT-VALUE})", defaultValue = "all")
    String role;

    @Option(names = "--proxy-host", description = "where users reach the SSH proxy (default: --host)")
    String proxyHost;

    @Option(names = "--proxy-port", description = "the proxy's port as users reach it, e.g. its load balancer's (default: --ssh-port)")
    int proxyPort = -1;

    @Option(names = "--ssh-host-key", description = "the SSH proxy's host key file, shared by its replicas (default: in --data-dir)")
    Path sshHostKey;

    @CommandLine.Mixin
    KubernetesOptions kubernetes = new KubernetesOptions();

    @Option(names = "--simulated-gpus", description = "declared GPUs for machines without them: TYPE:COUNT[xNODES][,...], e.g. h100:8x2,a100:4")
    String simulatedGpus;

    @Option(names = "--max-gpus-per-user", description = "GPUs one user may hold at once: N, 0 for no limit, or auto (half of each"
            + " GPU type, and always one whole node of it) (default ${DEFAULT-VALUE})", defaultValue = "auto")
    String maxGpusPerUser;

    @Option(names = "--max-waiting-per-user", description = "reservations one user may have waiting, 0 for no limit (default ${DEFAULT-VALUE})",
            defaultValue = "10")
    int maxWaitingPerUser;

    @Option(names = "--max-waiting-gpu-hours-per-user", description = "GPU-hours one user may have waiting: N, 0 for no limit, or auto"
            + " (a day of every GPU there is) (default ${DEFAULT-VALUE})", defaultValue = "auto")
    String maxWaitingGpuHours;

    @Option(names = "--max-bookings-per-user", description = "bookings ahead (reserve --start-at) one user may have waiting, 0 for"
            + " no limit (default ${DEFAULT-VALUE})", defaultValue = "3")
    int maxBookingsPerUser;

    @Option(names = "--priority-class", description = "define a priority class, or change a built-in one (high, normal,"
            + " preemptible): NAME[:boost=HOURS][,usage=WEIGHT][,preemptible][,admin][,max-waiting=N], e.g."
            + " urgent:boost=12,admin or batch:boost=-6,usage=0.5,max-waiting=20 (repeatable; give every role the same)")
    java.util.List<String> priorityClasses = new java.util.ArrayList<>();

    @Option(names = "--notify-allow-hosts", description = "hosts users' notification webhooks may go to, comma-separated (a name, or"
            + " *.example.com for a domain; empty, the default: any public host). A host named here may be internal (127.0.0.1, a"
            + " private address); others never are", defaultValue = "")
    String notifyAllowHosts;

    @Option(names = "--preemption-notice-minutes", description = "how long ahead a preemptible reservation is told it ends when"
            + " one with a better claim needs its GPUs (default ${DEFAULT-VALUE})", defaultValue = "10")
    int preemptionNoticeMinutes;

    @Option(names = "--fair-share-half-life", description = "how fast past GPU use is forgotten by the queue's fair share: a GPU-hour"
            + " this long ago counts half, e.g. 7d or 36h (default ${DEFAULT-VALUE})", defaultValue = "7d")
    String fairShareHalfLife;

    @Option(names = "--fair-share-weight", description = "hours of waiting that a fair-share factor of 1 (no use lately) is worth"
            + " against a factor of 0; 0 is plain first come, first served (default ${DEFAULT-VALUE})", defaultValue = "24")
    double fairShareWeight;

    @Option(names = "--environment-memory-per-gpu", description = "memory a local environment gets per GPU it asks for, e.g. 16g;"
            + " auto: the machine's memory (less a tenth, at least 2 GiB) shared by its GPUs (default ${DEFAULT-VALUE})", defaultValue = "auto")
    String memoryPerGpu;

    @Option(names = "--environment-processes-per-gpu", description = "processes a local environment may run per GPU it asks for"
            + " (default ${DEFAULT-VALUE})", defaultValue = "1024")
    int processesPerGpu;

    @Option(names = "--home-quota", description = "what a local environment's home or disk may hold, e.g. 100g, or 0 for no quota;"
            + " measured every 5 minutes: past it the environment's files stop growing until some are deleted (default ${DEFAULT-VALUE})",
            defaultValue = "100g")
    String homeQuota;

    @Option(names = "--allowed-registries", description = "where environments' images may come from: registries (host[:port],"
            + " docker.io for Docker Hub) and, for the local backend, folders of OCI layouts or archives (/PATH), comma-separated;"
            + " a reservation naming another is refused (default: any registry, no folder)", defaultValue = "")
    String allowedRegistries;

    @Option(names = "--insecure-registries", description = "registries the local backend pulls from over plain HTTP, comma-separated"
            + " (127.0.0.1 and localhost always are)", defaultValue = "")
    String insecureRegistries;

    @Option(names = "--image-registry", description = "where images built from Dockerfiles (reserve --dockerfile) are pushed and"
            + " pulled from: host[:port][/path] (Kubernetes: needed for builds; local: default a docker-registry the server starts on"
            + " 127.0.0.1)")
    String imageRegistry;

    @Option(names = "--image-cache-size", description = "how much unpacked image the local backend keeps, e.g. 50g; the least"
            + " recently used go first, never one in use (default ${DEFAULT-VALUE})", defaultValue = "50g")
    String imageCacheSize;

    @Option(names = "--stop-environments-on-exit", description = "end local environments when the server stops (by default they"
            + " keep running, and the server takes them over when it starts again)")
    boolean stopEnvironmentsOnExit;

    @Option(names = "--idle-after-minutes", description = "warn after this long without SSH session or GPU use, 0 to switch off "
            + "(default ${DEFAULT-VALUE})", defaultValue = "120")
    int idleAfterMinutes;

    @Option(names = "--idle-action", description = "release or none: what happens 15 minutes after the idle warning (default ${DEFAULT-VALUE})",
            defaultValue = "none")
    String idleAction;

    @Option(names = "--insecure-single-user", description = "let everyone reserve even when environments cannot be isolated "
            + "(no bubblewrap): only for a machine whose one user is you")
    boolean insecureSingleUser;

    /** The environment the settings come from (tests give their own). */
    java.util.Map<String, String> env = System.getenv();

    public static void main(String[] args) {
        // Before any logger exists: LOG_FORMAT=json gives one JSON object per log line.
        if ("json".equalsIgnoreCase(System.getenv("LOG_FORMAT")) && System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "logback-json.xml");
        }
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ValidationException || e instanceof IllegalArgumentException) {
                cmd.getErr().println("error: " + e.getMessage());
                return 2;
            }
            if (e instanceof dev.gpudev.store.StoreException || e instanceof java.io.IOException && e.getMessage() != null) {
                cmd.getErr().println("error: " + e.getMessage()); // in words: no pool's exception name
                return 1;
            }
            cmd.getErr().println("error: " + e);
            return 1;
        });
        return cl;
    }

    @Override
    public Integer call() throws Exception {
        ServerConfig cfg = config();
        Platform platform = new Platform(cfg);
        Runtime.getRuntime().addShutdownHook(new Thread(platform::close, "gpudev-stop"));
        System.out.println();
        System.out.println("gpudev is running" + (cfg.role() == ServerConfig.Role.all ? "" : " (" + cfg.role() + ")"));
        if (platform.apiPort() > 0) {
            System.out.println("  API:        " + Platform.apiUrl(host, platform.apiPort()) + "   (GPU_DEV_API_URL)");
        }
        if (platform.sshPort() > 0) {
            System.out.println("  SSH proxy:  " + host + ":" + platform.sshPort());
        }
        System.out.println("  data dir:   " + cfg.dataDir());
        if (platform.apiPort() > 0 && platform.adminToken() != null) {
            System.out.println("  log in as the admin (the token works once, for 7 days):");
            System.out.println("    ./gpu-dev login --api-url " + Platform.apiUrl(host, platform.apiPort()) + " --token-file " + platform.adminToken());
        } else if (platform.apiPort() > 0) {
            System.out.println("  an admin exists; a new one-time admin token: ./gpu-dev server admin-token --data-dir " + cfg.dataDir());
        }
        System.out.println();
        System.out.flush();
        new CountDownLatch(1).await();
        return 0;
    }

    public ServerConfig config() {
        if (!Platform.backendKinds().contains(backend)) {
            throw new ValidationException("--backend must be one of " + new java.util.TreeSet<>(Platform.backendKinds()) + ", not '"
                    + dev.gpudev.core.Names.shown(backend) + "'");
        }
        if (port < 0 || port > 65535 || sshPort < 0 || sshPort > 65535 || proxyPort > 65535) {
            throw new ValidationException("ports must be 0-65535");
        }
        ServerConfig.Role r;
        try {
            r = ServerConfig.Role.valueOf(role);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("--role must be all, api, processor or proxy, not '" + role + "'");
        }
        if (r != ServerConfig.Role.all && databaseUrl == null && env.get("POSTGRES_HOST") == null) {
            throw new ValidationException("--role " + r + " runs one part of the platform: give the database its parts share "
                    + "(--database-url, or POSTGRES_HOST...)");
        }
        if ("kubernetes".equals(backend) && simulatedGpus != null) {
            throw new ValidationException("--simulated-gpus is for the local backend: on Kubernetes the cluster's nodes say what GPUs there are");
        }
        var k8s = kubernetes.settings().withBuildRegistry(imageRegistry);
        Path dir = dataDir != null ? dataDir : ServerConfig.defaultDataDir();
        String url = null;
        String user = null;
        String password = null;
        if (databaseUrl != null) {
            var parsed = DatabaseUrl.parse(databaseUrl);
            url = parsed.jdbcUrl();
            user = parsed.user();
            password = parsed.password();
        } else if (System.getenv("POSTGRES_HOST") != null) {
            var env = System.getenv();
            url = "jdbc:postgresql://" + env.get("POSTGRES_HOST") + ":" + env.getOrDefault("POSTGRES_PORT", "5432")
                    + "/" + env.getOrDefault("POSTGRES_DB", "gpudev");
            user = env.getOrDefault("POSTGRES_USER", "postgres");
            password = env.getOrDefault("POSTGRES_PASSWORD", "");
        }
        String queue = System.getenv().getOrDefault("QUEUE_NAME", CommandQueue.DEFAULT_QUEUE);
        int heldLimit = countOrAuto("--max-gpus-per-user", maxGpusPerUser, Scheduler.Limits.AUTO);
        int waitingHours = countOrAuto("--max-waiting-gpu-hours-per-user", maxWaitingGpuHours, QueueLimits.AUTO);
        if (maxWaitingPerUser < 0 || idleAfterMinutes < 0 || maxBookingsPerUser < 0) {
            throw new ValidationException("--max-waiting-per-user, --max-bookings-per-user and --idle-after-minutes must be 0 or more");
        }
        if (preemptionNoticeMinutes < 1 || preemptionNoticeMinutes > 120) {
            throw new ValidationException("--preemption-notice-minutes must be 1 to 120");
        }
        dev.gpudev.core.PriorityClass.define(priorityClasses.stream().map(dev.gpudev.core.PriorityClass::parse).toList());
        ProcessorSettings.Idle.Action action;
        try {
            action = ProcessorSettings.Idle.Action.valueOf(idleAction);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("--idle-action must be release or none");
        }
        ProcessorSettings processor = ProcessorSettings.defaults()
                .withLimits(new Scheduler.Limits(heldLimit, java.util.Map.of()))
                .withFairShare(fairShare())
                .withWebhooks(new dev.gpudev.core.WebhookPolicy(java.util.Arrays.asList(notifyAllowHosts.split(","))))
                .withPreemptionNotice(java.time.Duration.ofMinutes(preemptionNoticeMinutes))
                .withIdle(new ProcessorSettings.Idle(java.time.Duration.ofMinutes(idleAfterMinutes), java.time.Duration.ofMinutes(15), 5, action));
        // Checked before anything starts: a bad setting is a message, not a half-started server.
        var ttl = dev.gpudev.api.ApiConfig.ttlFromEnvironment(env);
        if (processesPerGpu < 64) {
            throw new ValidationException("--environment-processes-per-gpu must be 64 or more");
        }
        long quota = "0".equals(homeQuota.trim()) ? 0 : bytesOrAuto("--home-quota", homeQuota);
        var local = new dev.gpudev.backend.local.LocalBackend.Settings(bytesOrAuto("--environment-memory-per-gpu", memoryPerGpu),
                processesPerGpu, !stopEnvironmentsOnExit).withHomeQuota(quota, java.time.Duration.ofMinutes(5))
                .withImages(new dev.gpudev.backend.local.LocalBackend.ImagePolicy(list(allowedRegistries), java.util.Set.copyOf(list(insecureRegistries)),
                        "0".equals(imageCacheSize.trim()) ? 0 : bytesOrAuto("--image-cache-size", imageCacheSize), java.time.Duration.ofMinutes(15),
                        kubernetes.defaultImage, imageRegistry, java.time.Duration.ofMinutes(30)));
        if (imageRegistry != null && !imageRegistry.matches("[a-z0-9][a-z0-9.-]{0,252}(:\\d{1,5})?(/[a-z0-9._/-]{1,200})?")) {
            throw new ValidationException("--image-registry takes host[:port][/path] like registry.example.com:5000, not '"
                    + dev.gpudev.core.Names.shown(imageRegistry) + "'");
        }
        for (String a : local.images().allowed()) {
            if (!a.startsWith("/") && !a.matches("[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:\\d{1,5})?")) {
                throw new ValidationException("--allowed-registries takes registries like registry.example.com or 127.0.0.1:5000, and folders"
                        + " like /srv/images, not '" + dev.gpudev.core.Names.shown(a) + "'");
            }
        }
        if (kubernetes.defaultImage != null && dev.gpudev.core.ImageRef.refused(kubernetes.defaultImage, local.images().allowed()) != null) {
            throw new ValidationException("--default-image: " + dev.gpudev.core.ImageRef.refused(kubernetes.defaultImage, local.images().allowed()));
        }
        return new ServerConfig(port, sshPort, host, dir.toAbsolutePath(), url, user, password, backend, simulatedGpus, queue, processor,
                new QueueLimits(maxWaitingPerUser, waitingHours, maxBookingsPerUser), ttl, insecureSingleUser, r, proxyHost != null ? proxyHost : host, proxyPort,
                sshHostKey, new ServerConfig.Kubernetes(kubernetes.kubeconfig, kubernetes.context, k8s), local);
    }

    /** A comma-separated list's items, trimmed, without empty ones. */
    private static java.util.List<String> list(String commaSeparated) {
        return java.util.Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    /** The queue's fair-share policy from --fair-share-half-life and --fair-share-weight. */
    private dev.gpudev.core.FairShare.Policy fairShare() {
        var m = java.util.regex.Pattern.compile("(\\d{1,4})([hd])").matcher(fairShareHalfLife.trim().toLowerCase(java.util.Locale.ROOT));
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new ValidationException("--fair-share-half-life must be hours or days like 36h or 7d, not '"
                    + dev.gpudev.core.Names.shown(fairShareHalfLife) + "'");
        }
        var halfLife = m.group(2).equals("d") ? java.time.Duration.ofDays(Long.parseLong(m.group(1))) : java.time.Duration.ofHours(Long.parseLong(m.group(1)));
        if (!(fairShareWeight >= 0 && fairShareWeight <= 10_000)) {
            throw new ValidationException("--fair-share-weight must be 0 to 10000 hours");
        }
        return new dev.gpudev.core.FairShare.Policy(halfLife, fairShareWeight);
    }

    /** A size like 16g, 512m or a number of bytes; "auto" is 0. */
    private static long bytesOrAuto(String flag, String value) {
        String v = value.trim().toLowerCase(java.util.Locale.ROOT);
        if (v.equals("auto")) {
            return 0;
        }
        var m = java.util.regex.Pattern.compile("(\\d{1,9})([kmgt]?)i?b?").matcher(v);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            int shift = switch (m.group(2)) {
                case "k" -> 10;
                case "m" -> 20;
                case "g" -> 30;
                case "t" -> 40;
                default -> 0;
            };
            long bytes = n << shift;
            if (bytes >= (256L << 20)) {
                return bytes;
            }
        }
        throw new ValidationException(flag + " must be auto or a size of 256m or more (like 16g), not '" + dev.gpudev.core.Names.shown(value) + "'");
    }

    /** A count given as a number (0: no limit) or "auto". */
    private static int countOrAuto(String flag, String value, int auto) {
        if ("auto".equalsIgnoreCase(value.trim())) {
            return auto;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new ValidationException(flag + " must be a number (0 for no limit) or auto, not '" + dev.gpudev.core.Names.shown(value) + "'");
    }
}
