package dev.gpudev.backend.local;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** No sandbox: processes of the server's user in the home, with a clean environment. Not isolated. */
final class PlainBox implements Box {
    private final Spec spec;

    PlainBox(Spec spec) {
        this.spec = spec;
    }

    @Override
    public List<String> command(List<String> cmd, Map<String, String> extraEnv) {
        Map<String, String> env = new HashMap<>(spec.env());
        env.putAll(extraEnv);
        return Sandbox.plainCommand(cmd, spec.home(), env);
    }

    @Override
    public String home() {
        return spec.home().toString();
    }

    @Override
    public int forward(int boxPort) {
        return -1;
    }

    @Override
    public boolean ownNetwork() {
        return false;
    }

    @Override
    public boolean alive() {
        return true;
    }

    /** Nothing holds its processes, so nothing is known to run after it is closed. */
    @Override
    public boolean ended() {
        return true;
    }

    @Override
    public void close() {
        // processes of sessions end with their sessions; nothing holds the others (that is what Plain means)
    }
}
