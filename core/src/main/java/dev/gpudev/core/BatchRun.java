package dev.gpudev.core;

import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A batch run ({@code gpu-dev run -- CMD…}): a command the environment runs detached, as its owner, once it
 * is made; its output goes to {@code ~/.gpudev/runs/NAME.log} in the home, its exit code is recorded, and
 * the reservation ends when it ends unless {@code keep}.
 *
 * @param command the program and its arguments, as given (never through a shell of ours)
 * @param workdir the folder of the home the CLI copies into and the command runs in ({@code ~/workdir}); null:
 *                nothing is copied, the command runs in the home at once
 * @param keep    whether the reservation stays until its hours are up after the command ends
 */
public record BatchRun(List<String> command, String workdir, boolean keep) {
    /** At most this many words, of this many bytes in all (it travels in an environment variable on Kubernetes). */
    public static final int MAX_ARGS = 256;
    public static final int MAX_BYTES = 32 * 1024;
    private static final Pattern WORKDIR = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    /** Where a run's files are, relative to the home: NAME.log, NAME.exit, NAME.go (the copy is done). */
    public static final String DIR = ".gpudev/runs";

    public BatchRun {
        command = command == null ? List.of() : List.copyOf(command);
        if (command.isEmpty()) {
            throw new ValidationException("run: a command is needed (gpu-dev run -- CMD ARGS…)");
        }
        if (command.size() > MAX_ARGS) {
            throw new ValidationException("run: at most " + MAX_ARGS + " words in the command, not " + command.size());
        }
        long bytes = 0;
        for (String word : command) {
            if (word.indexOf('\0') >= 0) {
                throw new ValidationException("run: the command may not hold a NUL character");
            }
            bytes += word.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 3;
        }
        if (command.getFirst().isBlank()) {
            throw new ValidationException("run: the command's first word is empty");
        }
        if (bytes > MAX_BYTES) {
            throw new ValidationException("run: the command is " + bytes + " bytes; at most " + MAX_BYTES
                    + " (put a long one in a script under --workdir)");
        }
        if (workdir != null && (!WORKDIR.matcher(workdir).matches() || workdir.equals("..") || workdir.contains(".."))) {
            throw new ValidationException("run: workdir '" + workdir + "' must be a folder name (letters, digits, '.', '_', '-'),"
                    + " copied to ~/" + "NAME in the home");
        }
    }

    /** Whether the CLI copies a folder first (the command waits for it). */
    public boolean upload() {
        return workdir != null;
    }

    /** The command as a shell would read it back: each word quoted where it needs to be. */
    public String shellLine() {
        StringBuilder b = new StringBuilder();
        for (String word : command) {
            if (!b.isEmpty()) {
                b.append(' ');
            }
            b.append(quote(word));
        }
        return b.toString();
    }

    /** The command in a few words, for tables: cut at {@code max} characters. */
    public String brief(int max) {
        String line = shellLine();
        return line.length() <= max ? line : line.substring(0, Math.max(1, max - 1)) + "…";
    }

    /** A word as POSIX shells read it back exactly: bare when it is plain, else in single quotes. */
    public static String quote(String word) {
        if (!word.isEmpty() && word.chars().allMatch(ch -> Character.isLetterOrDigit(ch) && ch < 128 || "@%+=:,./_-".indexOf(ch) >= 0)) {
            return word;
        }
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** How a run ended: its exit code (128+N: killed by signal N) and when the platform saw it. */
    public record Outcome(int exitCode, Instant endedAt) {
        /** "exited 0", "failed (exit 3)". */
        public String words() {
            return exitCode == 0 ? "exited 0" : "failed (exit " + exitCode + ")";
        }
    }

    /** The log file's path relative to the home, for the environment named so. */
    public static String logPath(String environment) {
        return DIR + "/" + environment + ".log";
    }
}
