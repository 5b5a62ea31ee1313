package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintWriter;

/** What every command has: the settings, its parsed command line, its session with the API, and where to print. */
abstract class Base implements Cli.Action {
    Settings settings;
    Cli.Parsed args;
    private Session session;
    private PrintWriter out;
    private PrintWriter err;

    @Override
    public final int run(Cli.Parsed args, PrintWriter out, PrintWriter err) throws Exception {
        this.args = args;
        this.out = out;
        this.err = err;
        return call();
    }

    /** The command itself, once its command line is parsed. */
    abstract int call() throws Exception;

    PrintWriter out() {
        return out;
    }

    PrintWriter err() {
        return err;
    }

    Session session() {
        if (session == null) {
            session = new Session(settings);
        }
        return session;
    }

    ApiClient api() {
        return session().api();
    }

    Terminal terminal() {
        return Terminal.of(settings.env(), System.console() != null);
    }

    void table(java.util.List<java.util.List<String>> rows) {
        Output.table(out(), rows, terminal(), -1);
    }

    void printJson(JsonNode node) {
        out().println(Json.pretty(node));
    }
}
