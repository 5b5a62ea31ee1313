package dev.gpudev.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Load on POST /v1/jobs/submit with real keys against a running server (bench/load.sh starts one).
 * Phase 1, closed loop: N workers submit as fast as they can: the API's peak rate. Phase 2, open loop:
 * submits at half that rate on a fixed schedule, latency measured from the scheduled send time (so a
 * slow server cannot hide its queueing).
 *
 * <p>Usage: SubmitLoad API_URL ADMIN_TOKEN_FILE SECONDS WORKERS
 */
public final class SubmitLoad {
    /** Closed-loop warm-up: the server's JIT compiler was still busy for about as long as this. */
    /** 503s seen in any phase (the database pool or the server overwhelmed): the goal is none while the database is up. */
    static final AtomicInteger UNAVAILABLE = new AtomicInteger();
    private static final int WARM_UP_SECONDS = Integer.getInteger("warmup", 20);
    private static final HttpClient HTTP = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();

    public static void main(String[] args) throws Exception {
        String api = args[0];
        String token = Files.readString(Path.of(args[1])).trim();
        int seconds = Integer.parseInt(args[2]);
        int workers = Integer.parseInt(args[3]);
        String admin = field(post(api + "/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}"), "api_key");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            String invite = field(post(api + "/v1/admin/invites", admin, "{\"username\":\"load" + i + "-" + System.nanoTime() % 100000 + "\"}"), "token");
            keys.add(field(post(api + "/v1/auth/token-login", null, "{\"token\":\"" + invite + "\"}"), "api_key"));
        }
        String body = "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}";

        LeanHttp lean = new LeanHttp(api);
        List<byte[]> requests = keys.stream().map(k -> lean.post("/v1/jobs/submit", k, body)).toList();
        // Warm-up, then the closed loop.
        closedLoop(lean, requests, WARM_UP_SECONDS);
        var peak = closedLoop(lean, requests, seconds);
        double peakRate = peak.ok / (double) seconds;
        System.out.printf("closed loop: %d workers, %d s: %d submits (%d errors): %.0f submits/s%n", workers, seconds, peak.ok, peak.errors, peakRate);

        double rate = peakRate / 2;
        // The open loop's own warm-up (its code paths compile in this JVM and the server's), not measured.
        openLoop(lean, requests, rate, 3, null, null, new AtomicInteger());

        // LOAD_TRACE=file: every measured open-loop request's phase (half, fixed), send time (epoch ms, to set beside the
        // server's log) and latency (µs), to see when the slow ones happen.
        String tracePath = System.getenv("LOAD_TRACE");
        List<String> trace = tracePath == null ? null : Collections.synchronizedList(new ArrayList<>());
        Measured half = measured(lean, requests, rate, seconds, trace, "half");
        System.out.printf("open loop at %.0f submits/s (half the peak), %d s: %d ok, %d errors: p50 %.1f ms, p99 %.1f ms%n",
                rate, seconds, half.sorted().size(), half.errors(), half.p50(), half.p99());
        String fixed = "";
        // FIXED_RATE=R: one more open loop at that rate (e.g. the original Python API's half peak).
        String fixedRate = System.getenv("FIXED_RATE");
        if (fixedRate != null && !fixedRate.isBlank()) {
            double r = Double.parseDouble(fixedRate);
            Measured at = measured(lean, requests, r, seconds, trace, "fixed");
            System.out.printf("open loop at %.0f submits/s, %d s: %d ok, %d errors: p50 %.1f ms, p99 %.1f ms%n",
                    r, seconds, at.sorted().size(), at.errors(), at.p50(), at.p99());
            fixed = String.format(" fixed_rate=%.0f fixed_p50_ms=%.1f fixed_p99_ms=%.1f", r, at.p50(), at.p99());
        }
        if (trace != null) {
            Files.write(Path.of(tracePath), trace);
        }
        System.out.printf("RESULT api_peak_per_s=%.0f p50_ms=%.1f p99_ms=%.1f%s http_503=%d%n", peakRate, half.p50(), half.p99(), fixed,
                UNAVAILABLE.get());
    }

    /** An open loop's latencies (ns, sorted) and errors. */
    record Measured(List<Long> sorted, int errors) {
        double p50() {
            return pct(sorted, 0.50);
        }

        double p99() {
            return pct(sorted, 0.99);
        }
    }

    /** One measured open loop at this rate, its requests traced under the phase's name when tracing. */
    static Measured measured(LeanHttp http, List<byte[]> requests, double rate, int seconds, List<String> trace, String phase)
            throws Exception {
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger errors = new AtomicInteger();
        openLoop(http, requests, rate, seconds, latencies, trace == null ? null : line -> trace.add(phase + " " + line), errors);
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        return new Measured(sorted, errors.get());
    }

    /**
     * Submits at a fixed rate for the given seconds, latency measured from each request's due time;
     * returns the start (System.nanoTime). Latencies and trace may be null (a warm-up); trace gets "epoch-ms µs".
     */
    static long openLoop(LeanHttp http, List<byte[]> requests, double rate, int seconds, List<Long> latencies,
                         java.util.function.Consumer<String> trace, AtomicInteger errors) throws Exception {
        long intervalNanos = (long) (1e9 / rate);
        long start = System.nanoTime();
        long epochAtStart = System.currentTimeMillis();
        long total = (long) (rate * seconds);
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long i = 0; i < total; i++) {
                long due = start + i * intervalNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                byte[] request = requests.get((int) (i % requests.size()));
                pool.submit(() -> {
                    try {
                        int status = http.send(request);
                        if (status == 503) {
                            UNAVAILABLE.incrementAndGet();
                        }
                        if (status == 201) {
                            long took = System.nanoTime() - due;
                            if (latencies != null) {
                                latencies.add(took);
                            }
                            if (trace != null) {
                                trace.accept((epochAtStart + (due - start) / 1_000_000) + " " + took / 1000);
                            }
                        } else {
                            errors.incrementAndGet();
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                });
            }
        }
        return start;
    }

    record Outcome(long ok, long errors) {
    }

    static Outcome closedLoop(LeanHttp http, List<byte[]> requests, int seconds) throws Exception {
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (byte[] request : requests) {
                pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        try {
                            int status = http.send(request);
                            if (status == 503) {
                                UNAVAILABLE.incrementAndGet();
                            }
                            if (status == 201) {
                                ok.incrementAndGet();
                            } else {
                                errors.incrementAndGet();
                            }
                        } catch (Exception e) {
                            errors.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
        }
        return new Outcome(ok.get(), errors.get());
    }

    static double pct(List<Long> sorted, double p) {
        return sorted.isEmpty() ? Double.NaN : sorted.get((int) Math.min(sorted.size() - 1, Math.floor(p * sorted.size()))) / 1e6;
    }

    static HttpResponse<String> send(String url, String key, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String post(String url, String key, String body) throws Exception {
        var r = send(url, key, body);
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(url + " -> " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    static String field(String json, String name) {
        var m = Pattern.compile("\"" + name + "\":\"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + json);
        }
        return m.group(1);
    }
}
