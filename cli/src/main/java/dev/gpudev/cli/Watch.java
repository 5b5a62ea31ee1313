package dev.gpudev.cli;

import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** --watch: show the listing again every few seconds until interrupted. */
final class Watch {
    @Option(names = "--watch", description = "refresh every --interval seconds until Ctrl-C")
    boolean watch;

    @Option(names = "--interval", defaultValue = "2", description = "seconds between refreshes (default ${DEFAULT-VALUE})")
    double interval;

    @Option(names = "--watch-times", hidden = true, defaultValue = "0", description = "stop after this many refreshes (for scripts)")
    int times;

    int repeat(PrintWriter out, Runnable once) throws InterruptedException {
        if (interval < 0.2 || interval > 3600) {
            throw new CliException(2, "--interval must be 0.2-3600 seconds");
        }
        once.run();
        for (int n = 1; watch && (times == 0 || n < times); n++) {
            Thread.sleep((long) (interval * 1000));
            out.println();
            out.println("-- " + java.time.Instant.now().toString().substring(0, 19).replace('T', ' ') + "Z --");
            once.run();
            out.flush();
        }
        return 0;
    }
}
