package dev.gpudev.backend.local;

import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.server.shell.ProcessShell;

import java.util.List;
import java.util.Map;

/**
 * A shell or command of an environment. The sandbox sets the whole environment of the process, so
 * nothing of the server's own environment (database passwords, tokens) reaches it.
 */
final class SandboxShell extends ProcessShell {
    private final boolean realTty;

    SandboxShell(List<String> command, boolean realTty) {
        super(command);
        this.realTty = realTty;
    }

    @Override
    protected Map<PtyMode, Integer> resolveShellTtyOptions(Map<PtyMode, Integer> modes) {
        // With a real pseudo-terminal (script(1)) the kernel does echo and line editing; filtering here would double them.
        return realTty ? Map.of() : super.resolveShellTtyOptions(modes);
    }
}
