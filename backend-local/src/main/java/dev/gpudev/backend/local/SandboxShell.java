package dev.gpudev.backend.local;

import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.server.shell.ProcessShell;

import java.util.List;
import java.util.Map;

/**
 * A shell or command of an environment. The sandbox sets the whole environment of the process, so
 * nothing of the server's own environment (database passwords, tokens) reaches it. Nothing of the
 * client's either: an SSH "env" request (LD_PRELOAD=...) never reaches the programs that run as root
 * before the box drops privileges (the control group's join, nsenter, prlimit): their environment is
 * cleared first, and the client's variables are not taken at all.
 */
final class SandboxShell extends ProcessShell {
    private final boolean realTty;

    SandboxShell(List<String> command, boolean realTty) {
        super(cleared(command));
        this.realTty = realTty;
    }

    /** The command with an empty environment from its first program on (the box sets what its processes get). */
    static List<String> cleared(List<String> command) {
        List<String> c = new java.util.ArrayList<>(List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin"));
        c.addAll(command);
        return c;
    }

    @Override
    protected Map<String, String> resolveShellEnvironment(Map<String, String> env) {
        return Map.of();
    }

    @Override
    protected Map<PtyMode, Integer> resolveShellTtyOptions(Map<PtyMode, Integer> modes) {
        // With a real pseudo-terminal (script(1)) the kernel does echo and line editing; filtering here would double them.
        return realTty ? Map.of() : super.resolveShellTtyOptions(modes);
    }
}
