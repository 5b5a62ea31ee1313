package dev.gpudev.backend.kubernetes;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPU utilisation per pod from NVIDIA's DCGM exporter (its Prometheus text, with the pod labels its
 * Kubernetes mapping adds): the mean of {@code DCGM_FI_DEV_GPU_UTIL} over each pod's GPUs.
 */
final class Dcgm {
    private static final Pattern LINE = Pattern.compile("^DCGM_FI_DEV_GPU_UTIL\\{([^}]*)}\\s+([0-9.eE+-]+)");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final URI url;

    Dcgm(String url) {
        this.url = URI.create(url);
    }

    /** Percent busy per pod of the namespace; empty when the exporter does not answer. */
    Map<String, Integer> utilization(String namespace) {
        try {
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            return res.statusCode() == 200 ? parse(res.body(), namespace) : Map.of();
        } catch (IOException e) {
            return Map.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Map.of();
        }
    }

    static Map<String, Integer> parse(String metrics, String namespace) {
        Map<String, double[]> sums = new HashMap<>();
        for (String line : metrics.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.find()) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            Matcher l = LABEL.matcher(m.group(1));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            String pod = labels.get("pod");
            if (pod == null || pod.isEmpty() || !namespace.equals(labels.get("namespace"))) {
                continue;
            }
            try {
                double v = Double.parseDouble(m.group(2));
                double[] s = sums.computeIfAbsent(pod, k -> new double[2]);
                s[0] += v;
                s[1]++;
            } catch (NumberFormatException ignored) {
                // not a number: skipped
            }
        }
        Map<String, Integer> out = new HashMap<>();
        sums.forEach((pod, s) -> out.put(pod, (int) Math.round(s[0] / s[1])));
        return out;
    }
}
