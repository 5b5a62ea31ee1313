package dev.gpudev.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.util.Map;

/** The gpu-dev command line: its commands, one file per group, and the options every command has. */
public final class Main {
    static final String VERSION = "gpu-dev 0.1.0";

    private Main() {
    }

    /** Every command, as data; {@code --api-url} works before or after the command name. */
    static Cli.Command commands() {
        return Cli.Command.of("gpu-dev", "Reserve GPU development environments and connect to them.")
                .text("--api-url", "URL", "the gpudev API (else GPU_DEV_API_URL, then the server you logged in to, then config api_url, then "
                        + Settings.DEFAULT_API_URL + ")")
                .sub(LoginCommand.command(), ReserveCommand.command(), RunCommands.Run.command(), RunCommands.Logs.command(),
                        JobCommands.ListJobs.command(), JobCommands.Show.command(),
                        JobCommands.Connect.command(), JobCommands.Cancel.command(), JobCommands.Edit.command(),
                        ClusterCommands.Avail.command(), ClusterCommands.Status.command(), ClusterCommands.Queue.command(), UsageCommand.command(), TeamCommands.list(), NotifyCommands.command(), DashboardCommand.command(), DiskCommands.command(),
                        ConfigCommands.SshConfigCommand.command(), ConfigCommands.command(), KeyCommands.command(),
                        AdminCommands.command(), CompletionCommand.command(), AotTraining.command());
    }

    public static void main(String[] args) {
        int code = run(args, System.getenv());
        System.out.flush();
        System.err.flush();
        // halt, not exit: System.exit logs through System.Logger, whose set-up (a service lookup, reflection,
        // spun classes) would cost every command a good part of its start-up. The CLI has no shutdown hooks.
        Runtime.getRuntime().halt(code);
    }

    /** Runs one command; the environment is passed in so tests can give each run its own HOME. */
    public static int run(String[] args, Map<String, String> env) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, System.out.charset()), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, System.err.charset()), true);
        try {
            Cli.Parsed parsed = Cli.parse(commands(), args);
            if (parsed.help) {
                out.print(Usage.of(parsed.command));
                return 0;
            }
            if (parsed.version) {
                out.println(VERSION);
                return 0;
            }
            Settings settings = new Settings(env);
            settings.flagApiUrl(parsed.text("--api-url"));
            Cli.Action action = parsed.command.action();
            if (action instanceof Base b) {
                b.settings = settings;
            }
            return action.run(parsed, out, err);
        } catch (Cli.BadInput e) {
            // Bad input: one line that says what is wrong with which value, the usage only on request, exit 2.
            err.println("error: " + e.getMessage());
            if (!e.getMessage().contains("--help`")) { // said once
                err.println("(see `" + e.command.qualifiedName() + " --help`)");
            }
            return 2;
        } catch (CliException e) {
            err.println("error: " + e.getMessage());
            return e.exitCode();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        } catch (Exception e) {
            err.println("error: " + e);
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
