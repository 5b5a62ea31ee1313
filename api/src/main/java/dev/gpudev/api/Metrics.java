package dev.gpudev.api;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Request counters and latency histograms by route and status, in Prometheus text format. */
final class Metrics {
    private static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

    private record Series(String method, String route, int status) {
    }

    private static final class Histogram {
        final LongAdder[] counts = new LongAdder[BUCKETS.length];
        final LongAdder total = new LongAdder();
        final java.util.concurrent.atomic.DoubleAdder sum = new java.util.concurrent.atomic.DoubleAdder();

        Histogram() {
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }
    }

    private final Map<Series, Histogram> requests = new ConcurrentHashMap<>();

    void observe(String method, String route, int status, double seconds) {
        Histogram h = requests.computeIfAbsent(new Series(method, route, status), s -> new Histogram());
        for (int i = 0; i < BUCKETS.length; i++) {
            if (seconds <= BUCKETS[i]) {
                h.counts[i].increment();
            }
        }
        h.total.increment();
        h.sum.add(seconds);
    }

    void write(StringBuilder out) {
        out.append("# HELP gpudev_http_requests_total HTTP requests by route and status.\n");
        out.append("# TYPE gpudev_http_requests_total counter\n");
        requests.forEach((s, h) -> out.append("gpudev_http_requests_total").append(labels(s)).append(' ').append(h.total.sum()).append('\n'));
        out.append("# HELP gpudev_http_request_duration_seconds Request latency by route and status.\n");
        out.append("# TYPE gpudev_http_request_duration_seconds histogram\n");
        requests.forEach((s, h) -> {
            String l = labels(s);
            String base = l.substring(0, l.length() - 1);
            for (int i = 0; i < BUCKETS.length; i++) {
                out.append("gpudev_http_request_duration_seconds_bucket").append(base).append(",le=\"").append(BUCKETS[i]).append("\"} ")
                        .append(h.counts[i].sum()).append('\n');
            }
            out.append("gpudev_http_request_duration_seconds_bucket").append(base).append(",le=\"+Inf\"} ").append(h.total.sum()).append('\n');
            out.append("gpudev_http_request_duration_seconds_sum").append(l).append(' ').append(h.sum.sum()).append('\n');
            out.append("gpudev_http_request_duration_seconds_count").append(l).append(' ').append(h.total.sum()).append('\n');
        });
    }

    static void gauge(StringBuilder out, String name, String help, Map<String, Number> byLabel, String label) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        if (label == null) {
            byLabel.values().forEach(v -> out.append(name).append(' ').append(v).append('\n'));
            return;
        }
        byLabel.forEach((k, v) -> out.append(name).append('{').append(label).append("=\"").append(escape(k)).append("\"} ").append(v).append('\n'));
    }

    private static String labels(Series s) {
        return "{method=\"" + s.method() + "\",route=\"" + escape(s.route()) + "\",status=\"" + s.status() + "\"}";
    }

    private static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
