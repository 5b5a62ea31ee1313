package dev.gpudev.cli;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command-line parser on its own: what it accepts, what it refuses and how it says so, and the usage it prints. */
class CliTest {
    private static Cli.Command root() {
        Cli.Command run = Cli.Command.of("run", "Runs a thing.")
                .param("ID", "what to run").rest("CMD", "a command")
                .text("--name", "NAME", "a name")
                .text("-o", "--output", "FORMAT", "json or table")
                .integer("--gpus", "N", 1, "how many")
                .decimal("--hours", "HOURS", "how long")
                .number("--interval", "SECONDS", 2, "how often")
                .flag("--all", "everything")
                .hiddenFlag("--secret")
                .toggle("--wait", "follow it")
                .pairs("--label", "K=V", "labels")
                .integers("--forward", "PORT", "ports")
                .action((a, out, err) -> 0);
        Cli.Command group = Cli.Command.of("disk", "Disks.")
                .sub(Cli.Command.of("list", "Lists.").action((a, out, err) -> 0));
        return Cli.Command.of("gpu-dev", "The CLI.").text("--api-url", "URL", "the API").sub(run, group);
    }

    private static Cli.Parsed parse(String... args) {
        return Cli.parse(root(), args);
    }

    private static String refused(String... args) {
        return assertThrows(Cli.BadInput.class, () -> parse(args)).getMessage();
    }

    @Test
    void optionsTakeTheirValueEitherWayAndGlobalOnesGoAnywhere() {
        Cli.Parsed p = parse("--api-url", "http://a:1", "run", "x", "--name=n1", "-o", "json", "--gpus", "4", "--hours", "1.5",
                "--all", "--no-wait", "--label", "a=1", "--label", "b=x=y", "--forward", "8888", "--forward=6006");
        assertEquals("run", p.command.name);
        assertEquals("x", p.param(0));
        assertEquals("http://a:1", p.text("--api-url"));
        assertEquals("n1", p.text("--name"));
        assertEquals("json", p.text("--output"));
        assertEquals(4, p.integer("--gpus"));
        assertEquals(new BigDecimal("1.5"), p.decimal("--hours"));
        assertEquals(2.0, p.number("--interval"), "the default");
        assertTrue(p.flag("--all"));
        assertFalse(p.flag("--secret"));
        assertEquals(Boolean.FALSE, p.toggle("--wait"));
        assertEquals(Map.of("a", "1", "b", "x=y"), p.pairs("--label"));
        assertEquals(List.of(8888, 6006), p.integers("--forward"));
        assertEquals("http://b:2", parse("run", "x", "--api-url", "http://b:2").text("--api-url"));
        Cli.Parsed bare = parse("run", "x");
        assertNull(bare.toggle("--wait"), "a toggle not given is neither");
        assertNull(bare.decimal("--hours"));
        assertEquals(1, bare.integer("--gpus"));
    }

    @Test
    void everythingAfterTheDoubleDashIsTheCommandItself() {
        Cli.Parsed p = parse("run", "x", "--gpus", "2", "--", "ls", "-la", "--name", "y");
        assertEquals(List.of("ls", "-la", "--name", "y"), p.rest(1));
        assertNull(p.text("--name"));
        assertEquals(List.of(), parse("run", "x").rest(1));
    }

    @Test
    void aCommandThatRunsACommandTakesEveryWordAfterItsFirstAsThatCommands() {
        Cli.Command batch = Cli.Command.of("batch", "Runs a command.").rest("CMD", "a command").text("--name", "NAME", "a name")
                .flag("--keep", "keep it").commandFollows().action((a, out, err) -> 0);
        Cli.Parsed p = Cli.parse(Cli.Command.of("gpu-dev", "The CLI.").sub(batch),
                new String[]{"batch", "--name", "n", "python", "train.py", "--name", "exp1", "--keep"});
        assertEquals("n", p.text("--name"), "before the command: the CLI's");
        assertFalse(p.flag("--keep"));
        assertEquals(List.of("python", "train.py", "--name", "exp1", "--keep"), p.rest(0), "after: the command's, as given");
        var root = Cli.Command.of("gpu-dev", "The CLI.").sub(batch);
        Cli.Parsed theirs = Cli.parse(root, new String[]{"batch", "--name", "n", "python", "train.py", "--help"});
        assertFalse(theirs.help, "the command's own --help");
        assertEquals(List.of("python", "train.py", "--help"), theirs.rest(0));
        assertTrue(Cli.parse(root, new String[]{"batch", "--name", "n", "--help"}).help, "before the command: ours");
        assertTrue(Cli.parse(root, new String[]{"batch", "--help"}).help);
        assertFalse(Cli.parse(Cli.Command.of("gpu-dev", "The CLI.").text("--api-url", "URL", "the API").sub(Cli.Command.of("batch", "x")
                        .rest("CMD", "c").commandFollows().action((a, out, err) -> 0)),
                new String[]{"--api-url", "http://x", "batch", "python", "--help"}).help, "a global option's value is not a command");
    }

    @Test
    void mistakesAreOneLineSayingWhatIsWrongWithWhichValue() {
        assertEquals("--gpus: 'many' is not a whole number", refused("run", "x", "--gpus", "many"));
        assertEquals("--hours: 'abc' is not a number", refused("run", "x", "--hours", "abc"));
        assertEquals("--label: 'novalue' is not KEY=VALUE", refused("run", "x", "--label", "novalue"));
        assertEquals("--name needs a value (NAME)", refused("run", "x", "--name"));
        assertEquals("--all takes no value", refused("run", "x", "--all=yes"));
        assertEquals("unknown option --frobnicate for gpu-dev run", refused("run", "x", "--frobnicate"));
        assertEquals("gpu-dev run needs ID", refused("run"));
        assertEquals("gpu-dev needs a command: run, disk", refused());
        assertEquals("gpu-dev disk needs a command: list", refused("disk"));
        assertEquals("unknown option --name for gpu-dev disk list", refused("disk", "list", "--name", "n"),
                "a command's options are its own");
        assertTrue(refused("rnu").startsWith("'rnu' is not a command of gpu-dev (did you mean `gpu-dev run`?)"), refused("rnu"));
        assertTrue(refused("zzzz").contains("see `gpu-dev --help`"), refused("zzzz"));
        Cli.Command list = Cli.Command.of("list", "x").action((a, o, e) -> 0);
        Cli.Command.of("root", "r").sub(list);
        assertEquals("unexpected argument 'extra'", assertThrows(Cli.BadInput.class,
                () -> Cli.parse(list.root(), new String[] {"list", "extra"})).getMessage());
    }

    @Test
    void helpAndVersionWinOverEverythingElse() {
        assertTrue(parse("run", "--help").help, "no ID needed for help");
        assertTrue(parse("run", "x", "--bogus", "-h").help, "help even after a mistake");
        assertEquals("run", parse("run", "-h").command.name);
        assertTrue(parse("-V").version);
        assertEquals("gpu-dev", parse("--help").command.name);
    }

    @Test
    void readingAnOptionACommandDoesNotHaveIsAProgrammingError() {
        Cli.Parsed p = parse("run", "x");
        assertThrows(IllegalStateException.class, () -> p.text("--nope"));
        assertThrows(IllegalStateException.class, () -> p.text("--gpus"), "the wrong kind too");
    }

    @Test
    void usageListsOptionsArgumentsAndCommandsWithinEightyColumns() {
        String run = Usage.of(parse("run", "--help").command);
        assertTrue(run.startsWith("Usage: gpu-dev run [OPTIONS] ID [CMD...]\nRuns a thing.\n"), run);
        assertTrue(run.contains("--[no-]wait"), run);
        assertTrue(run.contains("-o, --output FORMAT"), run);
        assertTrue(run.contains("--gpus N") && run.contains("(default 1)"), run);
        assertTrue(run.contains("--api-url URL"), "global options too: " + run);
        assertFalse(run.contains("--secret"), "hidden options stay hidden");
        String top = Usage.of(parse("--help").command);
        assertTrue(top.contains("Commands:\n") && top.contains("  disk") && top.contains("-V, --version"), top);
    }

    @Test
    void everyCommandOfTheCliHasUsageThatFitsEightyColumns() {
        List<Cli.Command> all = new ArrayList<>();
        collect(Main.commands(), all);
        assertTrue(all.size() > 20, "all commands: " + all.size());
        for (Cli.Command c : all) {
            String usage = Usage.of(c);
            usage.lines().forEach(l -> assertTrue(l.length() <= 80, c.qualifiedName() + ": " + l.length() + ": " + l));
            assertTrue(usage.contains(c.description.substring(0, Math.min(20, c.description.length()))), usage);
        }
    }

    private static void collect(Cli.Command c, List<Cli.Command> into) {
        into.add(c);
        c.subcommands().values().forEach(s -> collect(s, into));
    }
}
