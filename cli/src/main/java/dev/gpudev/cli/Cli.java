package dev.gpudev.cli;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CLI's command line: commands declared as plain data (no annotations, no reflection), parsed in one
 * pass, usage ({@link Usage}) and completion made from the same declarations. Ours rather than a library's because a
 * short command must start in well under a quarter of a second: a reflective parser spent most of that
 * building its model before the first request (see docs/DESIGN.md, "CLI start-up").
 *
 * <p>Rules: options may come anywhere after their command, as {@code --name value} or {@code --name=value};
 * {@code --} ends the options; global options ({@code --api-url}, {@code -h/--help}, {@code -V/--version})
 * work before or after the command name. Every mistake is one line naming the value and what is wrong,
 * exit code 2.
 */
final class Cli {
    private Cli() {
    }

    /** What an option takes. */
    enum Kind {
        /** --x VALUE */
        TEXT,
        /** --x N (a whole number) */
        INT,
        /** --x 1.5 (exact decimal) */
        DECIMAL,
        /** --x 0.5 (a double) */
        NUMBER,
        /** --x (present or not) */
        FLAG,
        /** --x / --no-x (absent: null) */
        SWITCH,
        /** --x K=V, repeatable */
        PAIRS,
        /** --x N, repeatable */
        INTS;

        boolean takesValue() {
            return this != FLAG && this != SWITCH;
        }
    }

    record Opt(List<String> names, Kind kind, String label, String defaultValue, String description, boolean hidden) {
        /** The long name, by which a command reads the value. */
        String key() {
            return names.getLast();
        }

        String shown() {
            String n = kind == Kind.SWITCH ? "--[no-]" + key().substring(2) : String.join(", ", names);
            return kind.takesValue() ? n + " " + label : n;
        }
    }

    record Param(String label, String description, boolean many) {
    }

    /** What a command does once parsed. */
    interface Action {
        int run(Parsed args, PrintWriter out, PrintWriter err) throws Exception;
    }

    /** One command: its name, what it does, its options and parameters, and its subcommands or action. */
    static final class Command {
        final String name;
        final String description;
        private final List<Opt> options = new ArrayList<>();
        private final List<Param> params = new ArrayList<>();
        private final Map<String, Command> subcommands = new LinkedHashMap<>();
        private Action action;
        private boolean hidden;
        private boolean commandFollows;
        private Command parent;

        private Command(String name, String description) {
            this.name = name;
            this.description = description;
        }

        static Command of(String name, String description) {
            return new Command(name, description);
        }

        /** What the command does: a fresh object per command line (no lambdas here: see "CLI start-up" in docs/DESIGN.md). */
        Command action(Action action) {
            this.action = action;
            return this;
        }

        Command hidden() {
            this.hidden = true;
            return this;
        }

        /** Its first parameter starts a command of its own: every word from there on is that command's, options too. */
        Command commandFollows() {
            this.commandFollows = true;
            return this;
        }

        boolean isHidden() {
            return hidden;
        }

        Action action() {
            return action;
        }

        private Command option(Kind kind, String label, String dflt, String description, boolean hidden, String... names) {
            options.add(new Opt(List.of(names), kind, label, dflt, description, hidden));
            return this;
        }

        Command text(String name, String label, String description) {
            return option(Kind.TEXT, label, null, description, false, name);
        }

        Command text(String shortName, String name, String label, String description) {
            return option(Kind.TEXT, label, null, description, false, shortName, name);
        }

        Command integer(String name, String label, Integer dflt, String description) {
            return option(Kind.INT, label, dflt == null ? null : dflt.toString(), description, false, name);
        }

        Command hiddenInteger(String name, int dflt) {
            return option(Kind.INT, "N", Integer.toString(dflt), "", true, name);
        }

        Command decimal(String name, String label, String description) {
            return option(Kind.DECIMAL, label, null, description, false, name);
        }

        Command number(String name, String label, double dflt, String description) {
            return option(Kind.NUMBER, label, Double.toString(dflt), description, false, name);
        }

        Command flag(String name, String description) {
            return option(Kind.FLAG, null, null, description, false, name);
        }

        Command flag(String shortName, String name, String description) {
            return option(Kind.FLAG, null, null, description, false, shortName, name);
        }

        Command hiddenFlag(String name) {
            return option(Kind.FLAG, null, null, "", true, name);
        }

        /** --name / --no-name; absent, the value is null. */
        Command toggle(String name, String description) {
            return option(Kind.SWITCH, null, null, description, false, name);
        }

        Command pairs(String name, String label, String description) {
            return option(Kind.PAIRS, label, null, description, false, name);
        }

        Command integers(String name, String label, String description) {
            return option(Kind.INTS, label, null, description, false, name);
        }

        Command param(String label, String description) {
            params.add(new Param(label, description, false));
            return this;
        }

        /** Any number of trailing parameters (after {@code --} too). */
        Command rest(String label, String description) {
            params.add(new Param(label, description, true));
            return this;
        }

        Command sub(Command... commands) {
            for (Command c : commands) {
                c.parent = this;
                subcommands.put(c.name, c);
            }
            return this;
        }

        Map<String, Command> subcommands() {
            return Collections.unmodifiableMap(subcommands);
        }

        List<Opt> options() {
            return Collections.unmodifiableList(options);
        }

        List<Param> params() {
            return Collections.unmodifiableList(params);
        }

        String qualifiedName() {
            return parent == null ? name : parent.qualifiedName() + " " + name;
        }

        Command root() {
            return parent == null ? this : parent.root();
        }

        private Opt find(String name) {
            for (Command c = this; c != null; c = c.parent) {
                for (Opt o : c.options) {
                    boolean global = c.parent == null;
                    if ((c == this || global) && (o.names.contains(name)
                            || (o.kind == Kind.SWITCH && name.equals("--no-" + o.key().substring(2))))) {
                        return o;
                    }
                }
            }
            return null;
        }
    }

    /** A mistake on the command line: said in one line, with where to look, exit 2. */
    static final class BadInput extends RuntimeException {
        final Command command;

        BadInput(Command command, String message) {
            super(message);
            this.command = command;
        }
    }

    /** The command a command line names, with its values. */
    static final class Parsed {
        final Command command;
        private final Map<String, Object> values;
        private final List<String> params;
        final boolean help;
        final boolean version;

        private Parsed(Command command, Map<String, Object> values, List<String> params, boolean help, boolean version) {
            this.command = command;
            this.values = values;
            this.params = params;
            this.help = help;
            this.version = version;
        }

        private Object value(String key, Kind kind) {
            Opt o = command.find(key);
            if (o == null || o.kind != kind) {
                throw new IllegalStateException(command.qualifiedName() + " has no " + kind + " option " + key);
            }
            return values.get(o.key());
        }

        String text(String key) {
            return (String) value(key, Kind.TEXT);
        }

        Integer integer(String key) {
            return (Integer) value(key, Kind.INT);
        }

        BigDecimal decimal(String key) {
            return (BigDecimal) value(key, Kind.DECIMAL);
        }

        double number(String key) {
            return (Double) value(key, Kind.NUMBER);
        }

        boolean flag(String key) {
            return value(key, Kind.FLAG) != null;
        }

        Boolean toggle(String key) {
            return (Boolean) value(key, Kind.SWITCH);
        }

        @SuppressWarnings("unchecked")
        Map<String, String> pairs(String key) {
            Object v = value(key, Kind.PAIRS);
            return v == null ? Map.of() : (Map<String, String>) v;
        }

        @SuppressWarnings("unchecked")
        List<Integer> integers(String key) {
            Object v = value(key, Kind.INTS);
            return v == null ? List.of() : (List<Integer>) v;
        }

        /** The i-th parameter (the declared ones are required). */
        String param(int i) {
            return params.get(i);
        }

        /** The parameters from the i-th on (a trailing {@link Command#rest}). */
        List<String> rest(int from) {
            return params.size() <= from ? List.of() : List.copyOf(params.subList(from, params.size()));
        }
    }

    /** Parses a command line from the root command. */
    static Parsed parse(Command root, String[] args) {
        Command cmd = root;
        Map<String, Object> values = new HashMap<>();
        List<String> params = new ArrayList<>();
        // Help wins over everything, mistakes included, wherever it is before a "--".
        boolean help = false;
        Command helpFor = root;
        boolean commandSeen = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                break;
            }
            if (!a.startsWith("-") || a.equals("-")) {
                Command next = commandSeen ? null : helpFor.subcommands.get(a);
                if (next != null) {
                    helpFor = next;
                    continue;
                }
                commandSeen = true;
                if (helpFor.commandFollows) {
                    break; // `run … python train.py --help`: that --help is the command's
                }
                continue;
            }
            help |= a.equals("-h") || a.equals("--help");
            Opt o = helpFor.find(a.contains("=") ? a.substring(0, a.indexOf('=')) : a);
            if (o != null && o.kind.takesValue() && !a.contains("=")) {
                i++; // its value is no command's name, nor the command's first word
            }
        }
        boolean version = false;
        boolean optionsEnded = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (optionsEnded || !a.startsWith("-") || a.equals("-")) {
                if (!optionsEnded && params.isEmpty() && !cmd.subcommands.isEmpty()) {
                    Command next = cmd.subcommands.get(a);
                    if (next == null) {
                        if (help) {
                            break;
                        }
                        throw new BadInput(cmd, "'" + a + "' is not a command of " + cmd.qualifiedName() + suggestion(cmd, a));
                    }
                    cmd = next;
                    continue;
                }
                params.add(a);
                optionsEnded |= cmd.commandFollows; // `run ... python train.py --lr 3`: the rest is the command's
                continue;
            }
            if (a.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (a.equals("-h") || a.equals("--help")) {
                continue;
            }
            if (a.equals("-V") || a.equals("--version")) {
                version = true;
                continue;
            }
            String name = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            Opt o = cmd.find(name);
            if (o == null) {
                if (help) {
                    continue;
                }
                throw new BadInput(cmd, "unknown option " + name + " for " + cmd.qualifiedName());
            }
            if (!o.kind.takesValue()) {
                if (inline != null) {
                    throw new BadInput(cmd, name + " takes no value");
                }
                values.put(o.key(), o.kind == Kind.FLAG ? Boolean.TRUE : !name.startsWith("--no-"));
                continue;
            }
            String v = inline;
            if (v == null) {
                if (i + 1 >= args.length) {
                    throw new BadInput(cmd, name + " needs a value (" + o.label + ")");
                }
                v = args[++i];
            }
            if (!help) {
                values.put(o.key(), convert(cmd, o, name, v, values.get(o.key())));
            }
        }
        if (help || version) {
            return new Parsed(cmd, values, params, help, version);
        }
        if (cmd.action == null) {
            throw new BadInput(cmd, cmd.qualifiedName() + " needs a command: " + String.join(", ", visibleNames(cmd)));
        }
        int required = 0;
        boolean many = false;
        for (Param p : cmd.params) {
            many |= p.many;
            required += p.many ? 0 : 1;
        }
        if (params.size() < required) {
            throw new BadInput(cmd, cmd.qualifiedName() + " needs " + cmd.params.get(params.size()).label);
        }
        if (!many && params.size() > required) {
            throw new BadInput(cmd, "unexpected argument '" + params.get(required) + "'");
        }
        for (Command c = cmd; c != null; c = c.parent) {
            for (Opt o : c.options) {
                if (o.defaultValue != null && !values.containsKey(o.key())) {
                    values.put(o.key(), convert(cmd, o, o.key(), o.defaultValue, null));
                }
            }
        }
        return new Parsed(cmd, values, params, false, false);
    }

    private static Object convert(Command cmd, Opt o, String name, String v, Object before) {
        try {
            return switch (o.kind) {
                case TEXT -> v;
                case INT -> Integer.parseInt(v.trim());
                case DECIMAL -> new BigDecimal(v.trim());
                case NUMBER -> Double.parseDouble(v.trim());
                case PAIRS -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) {
                        throw new BadInput(cmd, name + ": '" + v + "' is not KEY=VALUE");
                    }
                    @SuppressWarnings("unchecked")
                    Map<String, String> m = before == null ? new LinkedHashMap<>() : (Map<String, String>) before;
                    m.put(v.substring(0, eq), v.substring(eq + 1));
                    yield m;
                }
                case INTS -> {
                    @SuppressWarnings("unchecked")
                    List<Integer> l = before == null ? new ArrayList<>() : (List<Integer>) before;
                    l.add(Integer.parseInt(v.trim()));
                    yield l;
                }
                case FLAG, SWITCH -> throw new IllegalStateException();
            };
        } catch (NumberFormatException e) {
            String what = o.kind == Kind.INT || o.kind == Kind.INTS ? "a whole number" : "a number";
            throw new BadInput(cmd, name + ": '" + v + "' is not " + what);
        }
    }

    private static List<String> visibleNames(Command cmd) {
        List<String> names = new ArrayList<>();
        for (Command c : cmd.subcommands.values()) {
            if (!c.hidden) {
                names.add(c.name);
            }
        }
        return names;
    }

    /** " (did you mean X?)" for a near miss: one edit or a prefix. */
    private static String suggestion(Command cmd, String typed) {
        for (String n : visibleNames(cmd)) {
            if (n.startsWith(typed) || distance(n, typed) <= 1 || (distance(n, typed) <= 2 && n.length() > 4)) {
                return " (did you mean `" + cmd.qualifiedName() + " " + n + "`?)";
            }
        }
        return ": see `" + cmd.qualifiedName() + " --help`";
    }

    /** Edits between two words (insert, delete, change, swap two neighbours). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            for (int j = 0; j <= b.length(); j++) {
                if (i == 0 || j == 0) {
                    d[i][j] = i + j;
                    continue;
                }
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
