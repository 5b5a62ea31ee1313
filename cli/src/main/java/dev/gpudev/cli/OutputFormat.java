package dev.gpudev.cli;

/** -o json|table, for every command that lists or shows something. */
record OutputFormat(String output) {
    static Cli.Command option(Cli.Command c) {
        return c.text("-o", "--output", "FORMAT", "json for machine-readable output (else a table)");
    }

    /** The format asked for; an unknown one is refused. */
    static OutputFormat of(Cli.Parsed args) {
        OutputFormat f = new OutputFormat(args.text("--output"));
        Output.check(f.output);
        return f;
    }

    boolean json() {
        return Output.json(output);
    }

    boolean given() {
        return output != null;
    }
}
