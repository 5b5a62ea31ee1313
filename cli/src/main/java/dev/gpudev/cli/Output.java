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

    static String pathSegment(String ref) {
        return URLEncoder.encode(ref, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static void table(PrintWriter out, List<List<String>> rows) {
        int cols = rows.getFirst().size();
        int[] w = new int[cols];
        for (List<String> r : rows) {
            for (int i = 0; i < cols; i++) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                sb.append(i == cols - 1 ? r.get(i) : String.format("%-" + (w[i] + 2) + "s", r.get(i)));
            }
            out.println(sb.toString().stripTrailing());
        }
        out.flush();
    }
}
