package dev.gpudev.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * `gpu-dev completion bash|zsh`: a completion script for the shell, made from the commands themselves;
 * a reservation argument completes with the names (and short ids) of your live reservations.
 */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = "Print shell completion: eval \"$(gpu-dev completion bash)\", or for zsh: eval \"$(gpu-dev completion zsh)\".")
final class CompletionCommand extends Base {
    /** Commands whose argument is a reservation. */
    static final Set<String> TAKE_A_RESERVATION = Set.of("show", "connect", "cancel", "edit");

    @Parameters(paramLabel = "SHELL", description = "bash or zsh")
    String shell;

    @Override
    public Integer call() {
        if (!shell.equals("bash") && !shell.equals("zsh")) {
            throw new CliException(2, "completion is for bash or zsh, not '" + shell + "'");
        }
        CommandLine root = spec.root().commandLine();
        StringBuilder sb = new StringBuilder();
        if (shell.equals("zsh")) {
            sb.append("#compdef gpu-dev\nautoload -U +X bashcompinit && bashcompinit\n");
        }
        sb.append("_gpu_dev() {\n")
                .append("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" opts=\"\"\n")
                .append("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
                .append("    COMPREPLY=( $(compgen -W \"").append(String.join(" ", new TreeSet<>(root.getSubcommands().keySet())))
                .append("\" -- \"$cur\") ); return\n  fi\n")
                .append("  case \"$cmd\" in\n    ").append(String.join("|", new TreeSet<>(TAKE_A_RESERVATION))).append(")\n")
                .append("      if [[ \"$cur\" != -* && \"$COMP_CWORD\" -eq 2 ]]; then\n")
                .append("        COMPREPLY=( $(compgen -W \"$(gpu-dev list --names 2>/dev/null)\" -- \"$cur\") ); return\n      fi;;\n")
                .append("  esac\n  case \"$cmd\" in\n");
        for (var e : new java.util.TreeMap<>(root.getSubcommands()).entrySet()) {
            List<String> words = new ArrayList<>(e.getValue().getSubcommands().keySet());
            e.getValue().getCommandSpec().options().forEach(o -> words.addAll(List.of(o.names())));
            sb.append("    ").append(e.getKey()).append(") opts=\"").append(String.join(" ", new TreeSet<>(words))).append("\";;\n");
        }
        sb.append("  esac\n  COMPREPLY=( $(compgen -W \"$opts\" -- \"$cur\") )\n}\ncomplete -F _gpu_dev gpu-dev\n");
        out().print(sb);
        out().flush();
        return 0;
    }
}
