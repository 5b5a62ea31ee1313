package dev.gpudev.cli;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Tables, times and output formats. */
final class Output {
    private Output() {
    }

    static void check(String output) {
        if (output != null && !output.equals("json") && !output.equals("table")) {
            throw new CliException(2, "unknown output format '" + output + "': use -o json or -o table");
        }
    }

    static boolean json(String output) {
        return "json".equals(output);
    }

    static String time(String iso) {
        if (iso == null || iso.length() < 19 || !Character.isDigit(iso.charAt(0))) {
            return iso == null ? "" : iso;
        }
        return iso.substring(0, 10) + " " + iso.substring(11, 19) + "Z";
    }

    /**
     * A time in a table, as short as it stays clear: "14:03Z" today (UTC), "Thu 14:03Z" within the week,
     * else the date too. Text that is not a time is given back as it is.
     */
    static String brief(String iso, java.time.Instant now) {
        java.time.Instant t;
        try {
            t = java.time.Instant.parse(iso);
        } catch (RuntimeException e) {
            return iso == null ? "" : iso;
        }
        var at = t.atZone(java.time.ZoneOffset.UTC);
        var today = now.atZone(java.time.ZoneOffset.UTC).toLocalDate();
        String hm = String.format(java.util.Locale.ROOT, "%02d:%02dZ", at.getHour(), at.getMinute());
        long days = java.time.temporal.ChronoUnit.DAYS.between(today, at.toLocalDate());
        if (days == 0) {
            return hm;
        }
        if (days > 0 && days < 7 || days < 0 && days > -7) {
            return at.getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT, java.util.Locale.ROOT) + " " + hm;
        }
        return at.toLocalDate() + " " + hm;
    }

    /** An active reservation's end in a table: "ending" once it passed (the grace minute), else {@link #brief}. */
    static String until(String iso, java.time.Instant now) {
        try {
            if (!java.time.Instant.parse(iso).isAfter(now)) {
                return "ending";
            }
        } catch (RuntimeException e) {
            return iso == null ? "" : iso;
        }
        return brief(iso, now);
    }

    static String pathSegment(String ref) {
        return URLEncoder.encode(ref, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static void table(PrintWriter out, List<List<String>> rows) {
        table(out, rows, new Terminal(false, 80), -1);
    }

    /**
     * A table that fits the terminal's width: the widest columns give way first (their cells end in
     * "…"); the header is bold and one column (a status) coloured, where the terminal takes colour.
     */
    static void table(PrintWriter out, List<List<String>> rows, Terminal term, int statusColumn) {
        int cols = rows.getFirst().size();
        int[] w = new int[cols];
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        int total = java.util.Arrays.stream(w).sum() + 2 * (cols - 1);
        while (total > term.width()) {
            int widest = 0;
            for (int i = 1; i < cols; i++) {
                if (w[i] > w[widest]) {
                    widest = i;
                }
            }
            if (w[widest] <= 8) {
                break; // nothing sensible left to give
            }
            w[widest]--;
            total--;
        }
        for (int row = 0; row < rows.size(); row++) {
            List<String> r = rows.get(row);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                String cell = r.get(i).length() > w[i] ? r.get(i).substring(0, w[i] - 1) + "…" : r.get(i);
                String padded = i == cols - 1 ? cell : cell + " ".repeat(w[i] + 2 - cell.length());
                sb.append(row == 0 ? term.bold(padded) : i == statusColumn ? term.status(padded) : padded);
            }
            out.println(sb.toString().stripTrailing());
        }
        out.flush();
    }
}
