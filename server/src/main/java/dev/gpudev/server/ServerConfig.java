package dev.gpudev.server;

import java.nio.file.Path;

/** Everything `gpu-dev server` is told, after flags and environment variables are resolved. */
public record ServerConfig(int port, int sshPort, String advertisedHost, Path dataDir, String databaseUrl,
                           String databaseUser, String databasePassword, String backend, String simulatedGpus,
                           String queueName, dev.gpudev.processor.ProcessorSettings processor, java.time.Duration apiKeyTtl,
                           boolean insecureSingleUser) {

    /** Data dir: the flag, else $GPUDEV_HOME, else ~/.gpudev/server. */
    static Path defaultDataDir() {
        String home = System.getenv("GPUDEV_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home);
        }
        return Path.of(System.getProperty("user.home"), ".gpudev", "server");
    }
}
