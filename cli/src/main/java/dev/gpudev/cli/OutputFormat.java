package dev.gpudev.cli;

import picocli.CommandLine.Option;

/** -o json|table, for every command that lists or shows something. */
final class OutputFormat {
    @Option(names = {"-o", "--output"}, description = "json for machine-readable output")
    String output;

    void check() {
        Output.check(output);
    }

    boolean json() {
        return Output.json(output);
    }
}
