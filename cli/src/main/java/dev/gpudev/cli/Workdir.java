package dev.gpudev.cli;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What `gpu-dev run --workdir DIR` copies: the folder's files less what .gitignore files in it say (git's
 * own answer when the folder is in a git work tree and git is here; otherwise the .gitignore files read
 * here: globs, anchored with a leading '/', folders with a trailing '/', '!' taking a pattern back, '**'),
 * never .git; and of those, only what is not already there with the same size and modification time
 * (rsync's quick check). Links are not copied (nor, with git, the files of submodules).
 */
final class Workdir {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    private Workdir() {
    }

    /** The folder's name in the home: its own name, with what a name there may not hold made '_'. */
    static String remoteName(Path dir) {
        Path name = dir.getFileName();
        String n = name == null ? "workdir" : name.toString().replaceAll("[^A-Za-z0-9._-]", "_");
        n = n.replaceAll("^[._-]+", "").replace("..", "_");
        if (n.isEmpty()) {
            n = "workdir";
        }
        n = n.length() > 100 ? n.substring(0, 100) : n;
        return NAME.matcher(n).matches() ? n : "workdir";
    }

    /** Its files to copy, relative, '/'-separated, sorted. */
    static List<String> files(Path dir) throws IOException {
        List<String> byGit = git(dir);
        if (byGit != null) {
            return byGit;
        }
        List<String> out = new ArrayList<>();
        walk(dir, dir, new ArrayList<>(), out);
        out.sort(null);
        return out;
    }

    /** git's list (tracked and untracked, less what is ignored), or null when git cannot answer here. */
    private static List<String> git(Path dir) {
        try {
            Process p = new ProcessBuilder("git", "-C", dir.toString(), "ls-files", "-z", "--cached", "--others", "--exclude-standard")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] bytes = p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) {
                return null;
            }
            List<String> out = new ArrayList<>();
            for (String f : new String(bytes, java.nio.charset.StandardCharsets.UTF_8).split("\0")) {
                if (!f.isEmpty() && Files.isRegularFile(dir.resolve(f), LinkOption.NOFOLLOW_LINKS) && plain(f)) {
                    out.add(f);
                }
            }
            out.sort(null);
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** One .gitignore line, as a matcher of paths relative to the folder it is in. */
    record Rule(Path base, PathMatcher matcher, boolean negated, boolean dirOnly) {
    }

    private static void walk(Path root, Path dir, List<Rule> inherited, List<String> out) throws IOException {
        List<Rule> rules = new ArrayList<>(inherited);
        Path ignore = dir.resolve(".gitignore");
        if (Files.isRegularFile(ignore)) {
            // bytes as Latin-1: a .gitignore in another encoding is still read (names are matched as Java reads them)
            rules.addAll(rules(dir, new String(Files.readAllBytes(ignore), java.nio.charset.StandardCharsets.ISO_8859_1).lines().toList()));
        }
        List<Path> entries;
        try (var list = Files.list(dir)) {
            entries = list.sorted().toList();
        }
        for (Path p : entries) {
            boolean isDir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
            if (p.getFileName().toString().equals(".git") || ignored(rules, p, isDir)) {
                continue;
            }
            if (isDir) {
                walk(root, p, rules, out);
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                String rel = root.relativize(p).toString().replace('\\', '/');
                if (plain(rel)) {
                    out.add(rel);
                }
            }
        }
    }

    static List<Rule> rules(Path base, List<String> lines) {
        List<Rule> out = new ArrayList<>();
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            boolean negated = line.startsWith("!");
            if (negated) {
                line = line.substring(1);
            }
            boolean dirOnly = line.endsWith("/");
            if (dirOnly) {
                line = line.substring(0, line.length() - 1);
            }
            boolean anchored = line.startsWith("/") || line.contains("/");
            if (line.startsWith("/")) {
                line = line.substring(1);
            }
            if (line.isEmpty()) {
                continue;
            }
            // git's patterns are fnmatch's: braces are plain characters there, a group in Java's globs
            line = line.replace("{", "\\{").replace("}", "\\}");
            String glob = anchored ? line : "**/" + line;
            PathMatcher m;
            PathMatcher top;
            try {
                m = FileSystems.getDefault().getPathMatcher("glob:" + glob);
                top = anchored ? m : FileSystems.getDefault().getPathMatcher("glob:" + line);
            } catch (java.util.regex.PatternSyntaxException e) {
                continue; // a pattern git would read some way of its own: not a reason to fail the copy
            }
            PathMatcher first = m;
            PathMatcher second = top;
            PathMatcher either = p -> first.matches(p) || second.matches(p);
            out.add(new Rule(base, either, negated, dirOnly));
        }
        return out;
    }

    /** Whether the last rule that matches says to leave it out (git's order: a later line wins). */
    static boolean ignored(List<Rule> rules, Path p, boolean isDir) {
        boolean ignored = false;
        for (Rule r : rules) {
            if (r.dirOnly() && !isDir || !p.startsWith(r.base())) {
                continue;
            }
            if (r.matcher().matches(r.base().relativize(p))) {
                ignored = !r.negated();
            }
        }
        return ignored;
    }

    /** Names the copy and the listing can carry (a tab or a newline in a name cannot be told apart there). */
    private static boolean plain(String rel) {
        return rel.indexOf('\n') < 0 && rel.indexOf('\t') < 0 && rel.indexOf('\r') < 0;
    }

    /** The environment's listing ({@code find -printf '%P\t%s\t%T@\n'}): path → {size, whole seconds}. */
    static Map<String, long[]> listing(String text) {
        Map<String, long[]> out = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.split("\t");
            if (f.length != 3) {
                continue;
            }
            try {
                out.put(f[0], new long[]{Long.parseLong(f[1]), (long) Math.floor(Double.parseDouble(f[2]))});
            } catch (NumberFormatException e) {
                // a line we did not write: that file is copied again
            }
        }
        return out;
    }

    /** The files not already there with the same size and modification time (whole seconds, as tar keeps them). */
    static List<String> changed(Path dir, List<String> files, Map<String, long[]> there) throws IOException {
        List<String> out = new ArrayList<>();
        for (String f : files) {
            long[] t = there.get(f);
            Path p = dir.resolve(f);
            if (t == null || t[0] != Files.size(p) || t[1] != Files.getLastModifiedTime(p).toMillis() / 1000) {
                out.add(f);
            }
        }
        return out;
    }

    /** "12 KiB", "3.4 MiB". */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double k = bytes / 1024.0;
        if (k < 1024) {
            return String.format(java.util.Locale.ROOT, "%.0f KiB", k);
        }
        double m = k / 1024;
        return m < 1024 ? String.format(java.util.Locale.ROOT, "%.1f MiB", m) : String.format(java.util.Locale.ROOT, "%.2f GiB", m / 1024);
    }
}
