package dev.gpudev.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keys", mixinStandardHelpOptions = true, description = "Your API keys.", subcommands = KeyCommands.Rotate.class)
final class KeyCommands {
    @Command(name = "rotate", mixinStandardHelpOptions = true, description = "Get a new API key (the CLI also does this before one expires).")
    static final class Rotate extends Base {
        @Option(names = "--revoke-old", description = "end the current key now instead of at its expiry")
        boolean revokeOld;

        @Override
        public Integer call() {
            session().rotate(revokeOld);
            out().println("New API key saved; valid until " + session().credentials().get("expires_at").asText()
                    + (revokeOld ? "; the old one is revoked" : "; the old one stays valid until it expires"));
            return 0;
        }
    }
}
