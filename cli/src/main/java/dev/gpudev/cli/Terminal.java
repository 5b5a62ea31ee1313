package dev.gpudev.cli;

import java.util.Map;

/**
 * What the CLI writes to: colour only on a terminal, and never when NO_COLOR is set (no-color.org) or
 * TERM is dumb; tables as wide as COLUMNS says, else 80.
 */
record Terminal(boolean colour, int width) {

    static Terminal of(Map<String, String> env, boolean console) {
        boolean colour = console && env.get("NO_COLOR") == null && !"dumb".equals(env.get("TERM"));
        int width = 80;
        try {
            String cols = env.get("COLUMNS");
            if (cols != null) {
                width = Math.max(40, Math.min(500, Integer.parseInt(cols.trim())));
            }
        } catch (NumberFormatException ignored) {
            // the default
        }
        return new Terminal(colour, width);
    }

    /** A reservation's status, coloured by what it means (green runs, yellow waits, red failed, grey ended). */
    String status(String padded) {
        if (!colour) {
            return padded;
        }
        String s = padded.trim();
        String code = switch (s) {
            case "active" -> "32";
            case "queued", "preparing" -> "33";
            case "failed" -> "31";
            case "cancelled", "expired" -> "90";
            default -> null;
        };
        return code == null ? padded : "\u001b[" + code + "m" + s + "\u001b[0m" + padded.substring(s.length());
    }

    String bold(String text) {
        return colour ? "\u001b[1m" + text + "\u001b[0m" : text;
    }
}
