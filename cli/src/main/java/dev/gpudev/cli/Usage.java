package dev.gpudev.cli;

import java.util.ArrayList;
import java.util.List;

/** A command's help text (its usage, commands, arguments and options), fitted to 80 columns. */
final class Usage {
    private Usage() {
    }

    /** The usage of a command, fitted to 80 columns. */
    static String of(Cli.Command cmd) {
        StringBuilder sb = new StringBuilder("Usage: ").append(cmd.qualifiedName());
        if (!cmd.subcommands().isEmpty()) {
            sb.append(" COMMAND");
        } else {
            sb.append(" [OPTIONS]");
            for (Cli.Param p : cmd.params()) {
                sb.append(' ').append(p.many() ? "[" + p.label() + "...]" : p.label());
            }
        }
        sb.append('\n');
        for (String l : wrap(cmd.description, 80)) {
            sb.append(l).append('\n');
        }
        if (!cmd.subcommands().isEmpty()) {
            sb.append("\nCommands:\n");
            List<String[]> rows = new ArrayList<>();
            for (Cli.Command c : cmd.subcommands().values()) {
                if (!c.isHidden()) {
                    rows.add(new String[] {c.name, c.description});
                }
            }
            columns(sb, rows);
        }
        List<String[]> params = new ArrayList<>();
        for (Cli.Param p : cmd.params()) {
            if (p.description() != null) {
                params.add(new String[] {p.label(), p.description()});
            }
        }
        if (!params.isEmpty()) {
            sb.append("\nArguments:\n");
            columns(sb, params);
        }
        List<String[]> rows = new ArrayList<>();
        for (Cli.Opt o : cmd.options()) {
            if (!o.hidden()) {
                rows.add(new String[] {(o.names().size() == 1 && o.key().startsWith("--") ? "    " : "") + o.shown(), o.description()
                        + (o.defaultValue() != null && !o.description().contains("default") ? " (default " + o.defaultValue() + ")" : "")});
            }
        }
        rows.add(new String[] {"-h, --help", "this help"});
        if (cmd.root() != cmd) {
            for (Cli.Opt o : cmd.root().options()) {
                rows.add(new String[] {"    " + o.shown(), o.description()});
            }
        } else {
            rows.add(new String[] {"-V, --version", "the version"});
        }
        sb.append("\nOptions:\n");
        columns(sb, rows);
        if (!cmd.subcommands().isEmpty()) {
            sb.append("\nSee `").append(cmd.qualifiedName()).append(" COMMAND --help` for a command's options.\n");
        }
        return sb.toString();
    }

    private static void columns(StringBuilder sb, List<String[]> rows) {
        int width = 0;
        for (String[] r : rows) {
            width = Math.max(width, r[0].length());
        }
        width = Math.min(width, 28);
        int text = Math.max(30, 80 - 2 - width - 2);
        for (String[] r : rows) {
            sb.append("  ").append(r[0]);
            List<String> lines = wrap(r[1], text);
            if (r[0].length() > width) {
                sb.append('\n').append(" ".repeat(width + 2));
            } else {
                sb.append(" ".repeat(width - r[0].length()));
            }
            for (int i = 0; i < lines.size(); i++) {
                sb.append(i == 0 ? "  " : " ".repeat(width + 4)).append(lines.get(i)).append('\n');
            }
            if (lines.isEmpty()) {
                sb.append('\n');
            }
        }
    }

    static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty()) {
                line.append(' ');
            }
            line.append(word);
        }
        if (!line.isEmpty()) {
            lines.add(line.toString());
        }
        return lines;
    }
}
