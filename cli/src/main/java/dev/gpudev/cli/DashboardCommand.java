package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * {@code gpu-dev dashboard}: a one-time login link to the web dashboard (good for 2 minutes), opened in
 * the browser where there is one. The link carries no API key: the server trades it, once, for a
 * browser session of the same user.
 */
final class DashboardCommand extends Base {
    static Cli.Command command() {
        return Cli.Command.of("dashboard", "Open the web dashboard (a one-time login link, good for 2 minutes).")
                .flag("--no-browser", "only print the link").action(new DashboardCommand());
    }

    @Override
    int call() {
        JsonNode link = api().post("/v1/ui/login-links", Map.of());
        String base = session().apiUrl();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        String url = base + link.get("path").asText();
        out().println(url);
        err().println("This link logs you in once, within 2 minutes; keep it to yourself.");
        if (!args.flag("--no-browser") && open(url)) {
            err().println("Opened in your browser.");
        }
        return 0;
    }

    /**
     * Opens the link where a desktop is (a display on Linux, or macOS); false where none is. The browser
     * is handed a private file (0600) that forwards to the link, never the link itself: a command line
     * is visible to every user of the machine ({@code ps}), and the link's token would be theirs to use first.
     */
    private boolean open(String url) {
        Map<String, String> env = settings.env();
        boolean mac = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("mac");
        if (!mac && env.get("DISPLAY") == null && env.get("WAYLAND_DISPLAY") == null) {
            return false;
        }
        java.nio.file.Path page = settings.stateDir().resolve("dashboard-login.html");
        String attr = url.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;");
        Settings.writePrivate(page, "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">"
                + "<meta http-equiv=\"refresh\" content=\"0;url=" + attr + "\"><title>gpudev</title>"
                + "<p>Opening the <a href=\"" + attr + "\">gpudev dashboard</a>…</p>\n");
        List<String> command = List.of(mac ? "open" : "xdg-open", page.toUri().toString());
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
