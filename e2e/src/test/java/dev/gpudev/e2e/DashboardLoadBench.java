package dev.gpudev.e2e;

import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The dashboard's load time with many reservations (bench/dashboard.sh; not part of the suite, it
 * asserts no time): the real server jar with 128 simulated GPUs, N reservations from 10 users (about
 * a tenth holding GPUs, the rest waiting), then each page opened R times in headless chromium, timed
 * from the navigation to the moment its data is drawn. Prints medians and the occupancy route's own time.
 * Its name keeps it out of the suite; bench/dashboard.sh runs it by name.
 */
class DashboardLoadBench {
    @org.junit.jupiter.api.Test
    void pageLoadTimes() throws Exception {
        main(new String[]{System.getProperty("reservations", "1000"), System.getProperty("rounds", "11")});
    }

    static void main(String[] args) throws Exception {
        int reservations = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 11;
        Path root = Files.createTempDirectory("gpudev-dashboard-bench");
        Path log = root.resolve("server.log");
        int port = Proc.freePort();
        String api = "http://127.0.0.1:" + port;
        ProcessBuilder pb = new ProcessBuilder(Proc.java(), "-jar", Proc.jar("server", "gpudev-server.jar"), "--port", Integer.toString(port),
                "--ssh-port", Integer.toString(Proc.freePort()), "--data-dir", root.resolve("data").toString(),
                "--simulated-gpus", "h100:8x16", "--max-waiting-per-user", "0", "--max-waiting-gpu-hours-per-user", "0")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("RATE_LIMIT_PER_KEY", "100000");
        pb.environment().put("RATE_LIMIT_PER_ADDRESS", "100000");
        Process server = pb.start();
        WebDriver[] held = new WebDriver[1];
        try {
            Proc.awaitRunning(server, log, "server");
            Path admin = Proc.newHome(root, "admin");
            run(admin, api, "login", "--token-file", root.resolve("data/admin-token").toString());
            List<String> keys = new ArrayList<>();
            List<Path> homes = new ArrayList<>();
            for (int u = 0; u < 10; u++) {
                Path home = Proc.newHome(root, "user" + u);
                String token = run(admin, api, "admin", "invite", "user" + u).lines().findFirst().orElseThrow().trim();
                run(home, api, "login", "--token", token);
                homes.add(home);
                keys.add(DashboardE2ETest.JSON.readTree(Files.readString(home.resolve(".gpu-dev/credentials"))).get("api_key").asText());
            }
            HttpClient http = HttpClient.newHttpClient();
            long t0 = System.nanoTime();
            for (int i = 0; i < reservations; i++) {
                int gpus = new int[]{1, 1, 2, 4, 8}[i % 5];
                String body = "{\"gpu_type\":\"h100\",\"gpu_count\":" + gpus + ",\"duration_hours\":" + (1 + i % 8) + ",\"name\":\"job-" + i + "\"}";
                var r = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/jobs/submit")).header("Authorization", "Bearer " + keys.get(i % 10))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 201) {
                    throw new IllegalStateException("submit " + i + ": " + r.body());
                }
            }
            System.out.printf("submitted %d reservations in %.1f s%n", reservations, (System.nanoTime() - t0) / 1e9);
            Thread.sleep(5000); // the processor places what fits and orders the rest
            String status = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/cluster/status")).header("Authorization", "Bearer " + keys.get(0))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            System.out.println("cluster: " + status);

            List<Double> route = new ArrayList<>();
            int bytes = 0;
            for (int i = 0; i < 51; i++) {
                long s = System.nanoTime();
                var r = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/cluster/occupancy")).header("Authorization", "Bearer " + keys.get(0))
                        .build(), HttpResponse.BodyHandlers.ofString());
                route.add((System.nanoTime() - s) / 1e6);
                bytes = r.body().length();
            }
            System.out.printf("GET /v1/cluster/occupancy: median %.1f ms over 51, %d bytes%n", median(route), bytes);

            WebDriver browser = DashboardE2ETest.browser();
            held[0] = browser;
            browser.get(loginLink(homes.get(0), api));
            waitFor(browser, () -> browser.getCurrentUrl().endsWith("/ui") && !browser.findElement(By.id("updated")).getText().isEmpty());
            // Drawn: the footer says "Updated …" once the first round of the page's requests is on screen.
            for (String[] page : List.of(new String[]{"/ui", "#types"}, new String[]{"/ui/mine", "#live"})) {
                List<Double> times = new ArrayList<>();
                for (int i = 0; i < rounds; i++) {
                    browser.get("about:blank");
                    browser.get(api + page[0]);
                    waitFor(browser, () -> !browser.findElements(By.cssSelector(page[1])).isEmpty()
                            && !browser.findElement(By.id("updated")).getText().isEmpty());
                    // The browser's own clock: from the navigation's start to the first data drawn (the page marks it).
                    Number drawn = (Number) ((JavascriptExecutor) browser).executeScript(
                            "var m = performance.getEntriesByName('gpudev-drawn'); return m.length ? m[0].startTime : null;");
                    times.add(drawn.doubleValue());
                }
                Object nodes = ((JavascriptExecutor) browser).executeScript("return document.getElementsByTagName('*').length;");
                System.out.printf("page %s: median %.0f ms to drawn data over %d loads (min %.0f, max %.0f; %s elements)%n", page[0],
                        median(times), rounds, Collections.min(times), Collections.max(times), nodes);
            }
        } finally {
            if (held[0] != null) {
                held[0].quit();
            }
            Proc.stopServer(server, root.resolve("data"));
        }
    }

    static String run(Path home, String api, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Proc.java(), "-jar", Proc.jar("cli", "gpudev-cli.jar")));
        cmd.addAll(List.of(args));
        Proc p = Proc.run(Map.of("HOME", home.toString(), "GPU_DEV_API_URL", api), cmd);
        if (p.exit() != 0) {
            throw new IllegalStateException(String.join(" ", args) + ": " + p.out());
        }
        return p.out();
    }

    static String loginLink(Path home, String api) throws Exception {
        return run(home, api, "dashboard", "--no-browser").lines().filter(l -> l.startsWith("http")).findFirst().orElseThrow();
    }

    static void waitFor(WebDriver browser, java.util.function.BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("timed out; the page shows:\n" + browser.findElement(By.tagName("body")).getText());
            }
            Thread.sleep(5);
        }
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }
}
