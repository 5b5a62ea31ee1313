package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** What every command has: the settings, its session with the API, and where to print. */
abstract class Base implements Callable<Integer> {
    Settings settings;
    private Session session;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
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
        out().println(node.toPrettyString());
    }
}
