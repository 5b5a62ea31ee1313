package dev.gpudev.server;

import dev.gpudev.backend.local.LocalBackend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * `gpu-dev server stop-environments`: ends every environment a local server of this data dir left
 * running (they outlive the server, so that a restart keeps users' work). Their reservations are not
 * touched: a server started again makes the live ones anew.
 */
@Command(name = "stop-environments", mixinStandardHelpOptions = true,
        description = "Ends every environment a server of this data dir left running (stop the server first).")
final class StopEnvironments implements Callable<Integer> {

    @Option(names = "--data-dir", description = "the server's data dir (default $GPUDEV_HOME, else ~/.gpudev/server)")
    Path dataDir;

    @Override
    public Integer call() {
        Path dir = (dataDir != null ? dataDir : ServerConfig.defaultDataDir()).toAbsolutePath();
        int n = LocalBackend.stopEnvironments(dir);
        System.out.println(n == 0 ? "no environment of " + dir + " was running" : "ended " + n + " environment(s) of " + dir);
        return 0;
    }
}
