package dev.gpudev.cli;

import java.io.PrintWriter;

/** --watch: show the listing again every few seconds until interrupted. */
record Watch(boolean watch, double interval, int times) {
    static Cli.Command options(Cli.Command c) {
        return c.flag("--watch", "refresh every --interval seconds until Ctrl-C")
                .number("--interval", "SECONDS", 2, "seconds between refreshes (default 2)")
                .hiddenInteger("--watch-times", 0);
    }

    static Watch of(Cli.Parsed args) {
        Watch w = new Watch(args.flag("--watch"), args.number("--interval"), args.integer("--watch-times"));
        if (w.interval < 0.2 || w.interval > 3600) {
            throw new CliException(2, "--interval must be 0.2-3600 seconds");
        }
        return w;
    }

    int repeat(PrintWriter out, Runnable once) throws InterruptedException {
        once.run();
        out.flush();
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
