package dev.gpudev.cli;

final class KeyCommands {
    private KeyCommands() {
    }

    static Cli.Command command() {
        return Cli.Command.of("keys", "Your API keys.").sub(
                Cli.Command.of("rotate", "Get a new API key (the CLI also does this before one expires).")
                        .flag("--revoke-old", "end the current key now instead of at its expiry").action(new Rotate()));
    }

    static final class Rotate extends Base {
        @Override
        int call() {
            boolean revokeOld = args.flag("--revoke-old");
            session().rotate(revokeOld);
            out().println("New API key saved; valid until " + session().credentials().get("expires_at").asText()
                    + (revokeOld ? "; the old one is revoked" : "; the old one stays valid until it expires"));
            return 0;
        }
    }
}
