package dev.gpudev.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * `gpu-dev completion bash|zsh`: a completion script for the shell, made from the commands themselves;
 * a reservation argument completes with the names (and short ids) of your live reservations.
 */
final class CompletionCommand extends Base {
    static Cli.Command command() {
        return Cli.Command.of("completion", "Print shell completion: eval \"$(gpu-dev completion bash)\", or for zsh: "
                + "eval \"$(gpu-dev completion zsh)\".").param("SHELL", "bash or zsh").action(new CompletionCommand());
    }

    /** Commands whose argument is a reservation. */
    static final Set<String> TAKE_A_RESERVATION = Set.of("show", "connect", "cancel", "edit");

    @Override
    int call() {
        String shell = args.param(0);
        if (!shell.equals("bash") && !shell.equals("zsh")) {
            throw new CliException(2, "completion is for bash or zsh, not '" + shell + "'");
        }
        Cli.Command root = args.command.root();
        var commands = new java.util.TreeMap<String, Cli.Command>();
        root.subcommands().forEach((name, cmd) -> {
            if (!cmd.isHidden()) {
                commands.put(name, cmd);
            }
        });
        StringBuilder sb = new StringBuilder();
        if (shell.equals("zsh")) {
            sb.append("#compdef gpu-dev\nautoload -U +X bashcompinit && bashcompinit\n");
        }
        sb.append("_gpu_dev() {\n")
                .append("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" opts=\"\"\n")
                .append("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
                .append("    COMPREPLY=( $(compgen -W \"").append(String.join(" ", commands.keySet()))
                .append("\" -- \"$cur\") ); return\n  fi\n")
                .append("  case \"$cmd\" in\n    ").append(String.join("|", new TreeSet<>(TAKE_A_RESERVATION))).append(")\n")
                .append("      if [[ \"$cur\" != -* && \"$COMP_CWORD\" -eq 2 ]]; then\n")
                // the names come from the gpu-dev that is being completed, as it was typed (./gpu-dev, a path): no PATH needed
                .append("        COMPREPLY=( $(compgen -W \"$(\"${COMP_WORDS[0]/#\\~/$HOME}\" list --names 2>/dev/null)\" -- \"$cur\") ); return\n      fi;;\n")
                .append("  esac\n  case \"$cmd\" in\n");
        for (var e : commands.entrySet()) {
            List<String> words = new ArrayList<>(e.getValue().subcommands().keySet());
            e.getValue().options().stream().filter(o -> !o.hidden()).forEach(o -> {
                words.addAll(o.names());
                if (o.kind() == Cli.Kind.SWITCH) {
                    words.add("--no-" + o.key().substring(2));
                }
            });
            words.addAll(List.of("--help", "--api-url"));
            sb.append("    ").append(e.getKey()).append(") opts=\"").append(String.join(" ", new TreeSet<>(words))).append("\";;\n");
        }
        // Registered for gpu-dev on PATH, ./gpu-dev in a clone (as the README runs it) and this launcher's own path.
        Set<String> names = new TreeSet<>(List.of("gpu-dev", "./gpu-dev"));
        String self = System.getenv("GPU_DEV_SELF");
        if (self != null && self.matches("[A-Za-z0-9_./~+-]+")) {
            names.add(self);
        }
        sb.append("  esac\n  COMPREPLY=( $(compgen -W \"$opts\" -- \"$cur\") )\n}\ncomplete -F _gpu_dev ").append(String.join(" ", names))
                .append("\n");
        out().print(sb);
        out().flush();
        return 0;
    }
}
