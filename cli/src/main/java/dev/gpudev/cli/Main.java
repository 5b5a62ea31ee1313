package dev.gpudev.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.util.Map;

/** The gpu-dev command line: its commands, one file per group, and the options every command has. */
@Command(name = "gpu-dev", mixinStandardHelpOptions = true, version = "gpu-dev 0.1.0",
        description = "Reserve GPU development environments and connect to them.",
        subcommands = {LoginCommand.class, ReserveCommand.class, JobCommands.ListJobs.class, JobCommands.Show.class,
                JobCommands.Connect.class, JobCommands.Cancel.class, JobCommands.Edit.class, ClusterCommands.Avail.class,
                ClusterCommands.Status.class, DiskCommands.class, ConfigCommands.SshConfigCommand.class, ConfigCommands.class,
                KeyCommands.class, AdminCommands.class, CompletionCommand.class})
public final class Main {
    private final Settings settings;

    Main(Settings settings) {
        this.settings = settings;
    }

    /** Before or after the command name: `gpu-dev --api-url URL list` and `gpu-dev list --api-url URL` are the same. */
    @Option(names = "--api-url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "the gpudev API (else GPU_DEV_API_URL, then the server you logged in to, then config api_url, then "
                    + Settings.DEFAULT_API_URL + ")")
    void apiUrl(String url) {
        settings.flagApiUrl(url);
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv()));
    }

    /** Runs one command; the environment is passed in so tests can give each run its own HOME. */
    public static int run(String[] args, Map<String, String> env) {
        Settings settings = new Settings(env);
        CommandLine cl = new CommandLine(new Main(settings), new Factory(settings));
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CliException ce) {
                cmd.getErr().println("error: " + ce.getMessage());
                return ce.exitCode();
            }
            cmd.getErr().println("error: " + e);
            return 1;
        });
        cl.setParameterExceptionHandler(Main::badInput);
        return cl.execute(args);
    }

    /** Bad input: one line that says what is wrong with which value, the usage only on request, exit 2. */
    private static int badInput(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        String message = e.getMessage();
        var conversion = java.util.regex.Pattern.compile("Invalid value for option '([^']+)': (?:cannot convert )?'(.*?)' (?:to|is not an?) ([\\w.]+).*",
                java.util.regex.Pattern.DOTALL).matcher(message);
        if (conversion.matches()) {
            String type = conversion.group(3);
            String what = type.endsWith("BigDecimal") || type.equals("int") || type.endsWith("Integer") || type.equals("double")
                    ? "a number" : type.substring(type.lastIndexOf('.') + 1);
            message = conversion.group(1) + ": '" + conversion.group(2) + "' is not " + what;
        }
        cmd.getErr().println("error: " + message);
        cmd.getErr().println("(see `" + cmd.getCommandSpec().qualifiedName() + " --help`)");
        return 2;
    }

    /** Hands every command the settings. */
    private record Factory(Settings settings) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            K k = CommandLine.defaultFactory().create(cls);
            if (k instanceof Base b) {
                b.settings = settings;
            }
            return k;
        }
    }
}
