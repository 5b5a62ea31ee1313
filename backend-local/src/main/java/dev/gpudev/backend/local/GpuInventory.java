package dev.gpudev.backend.local;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.GpuType;
import dev.gpudev.core.ValidationException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** The GPUs of this machine: real ones from nvidia-smi, or declared simulated ones. */
public final class GpuInventory {
    public static final String QUERY = "--query-gpu=index,uuid,name,memory.total,utilization.gpu";

    /** One GPU as nvidia-smi reports it. */
    public record Gpu(int index, String uuid, String name, String memory, Integer utilizationPercent) {
    }

    private GpuInventory() {
    }

    /** Parses `nvidia-smi --query-gpu=index,uuid,name,... --format=csv[,noheader]`; the header, if any, names the columns. */
    public static List<Gpu> parseQueryCsv(String csv) {
        List<Gpu> gpus = new ArrayList<>();
        List<String> columns = List.of("index", "uuid", "name", "memory.total", "utilization.gpu");
        for (String line : csv.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            List<String> cells = List.of(line.split("\\s*,\\s*"));
            if (cells.getFirst().trim().equals("index")) {
                columns = cells.stream().map(c -> c.replaceAll("\\s*\\[.*]", "").trim()).toList();
                continue;
            }
            int idx = columns.indexOf("index");
            int uuid = columns.indexOf("uuid");
            int name = columns.indexOf("name");
            int mem = columns.indexOf("memory.total");
            int util = columns.indexOf("utilization.gpu");
            gpus.add(new Gpu(Integer.parseInt(cells.get(idx).trim()), cell(cells, uuid), cell(cells, name), cell(cells, mem),
                    util < 0 || cell(cells, util) == null ? null : parsePercent(cell(cells, util))));
        }
        return gpus;
    }

    /** Parses `nvidia-smi -L`: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)". */
    public static List<Gpu> parseList(String text) {
        var p = Pattern.compile("^GPU (\\d+): (.+?) \\(UUID: ([^)]+)\\)");
        List<Gpu> gpus = new ArrayList<>();
        for (String line : text.split("\\R")) {
            var m = p.matcher(line.trim());
            if (m.find()) {
                gpus.add(new Gpu(Integer.parseInt(m.group(1)), m.group(3), m.group(2), null, null));
            }
        }
        return gpus;
    }

    /** The catalog type of a GPU model name ("NVIDIA H100 80GB HBM3" is h100). */
    public static Optional<String> typeOf(String modelName, GpuCatalog catalog) {
        String lower = modelName.toLowerCase(Locale.ROOT);
        return catalog.all().stream().map(GpuType::name).filter(t -> t.matches("[a-z]+\\d+[a-z]*"))
                .filter(t -> Pattern.compile("\\b" + t + "\\b").matcher(lower).find())
                .findFirst();
    }

    /** Runs nvidia-smi; empty when it is not installed or sees no GPU. */
    public static List<Gpu> discover() {
        try {
            Process p = new ProcessBuilder("nvidia-smi", QUERY, "--format=csv,noheader,nounits").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return List.of();
            }
            return parseQueryCsv(out);
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** This machine's GPUs as one node per type. */
    public static Capacity fromGpus(List<Gpu> gpus, GpuCatalog catalog, String host) {
        var byType = new java.util.LinkedHashMap<String, List<Integer>>();
        for (Gpu g : gpus) {
            String type = typeOf(g.name(), catalog).orElse("unknown");
            byType.computeIfAbsent(type, t -> new ArrayList<>()).add(g.index());
        }
        List<Capacity.Node> nodes = new ArrayList<>();
        byType.forEach((type, idx) -> nodes.add(new Capacity.Node(host + "-" + type, type, idx, false)));
        return new Capacity(nodes);
    }

    /**
     * Declared GPUs for machines without them: "h100:8x2,a100:4" is two simulated h100 nodes of 8 and
     * one a100 node of 4. They are labelled simulated everywhere they show.
     */
    public static Capacity simulated(String spec, GpuCatalog catalog) {
        List<Capacity.Node> nodes = new ArrayList<>();
        var p = Pattern.compile("([a-z0-9-]+):(\\d+)(?:x(\\d+))?");
        for (String part : spec.split(",")) {
            var m = p.matcher(part.trim());
            if (!m.matches()) {
                throw new ValidationException("bad --simulated-gpus entry '" + part + "': use TYPE:COUNT[xNODES], e.g. h100:8x2");
            }
            String type = m.group(1);
            catalog.find(type).orElseThrow(() -> new ValidationException("unknown GPU type '" + type + "' in --simulated-gpus"));
            int count = Integer.parseInt(m.group(2));
            int nodeCount = m.group(3) == null ? 1 : Integer.parseInt(m.group(3));
            if (count < 1 || count > 64 || nodeCount < 1 || nodeCount > 1000) {
                throw new ValidationException("bad --simulated-gpus entry '" + part + "': 1-64 GPUs per node, 1-1000 nodes");
            }
            for (int n = 0; n < nodeCount; n++) {
                List<Integer> idx = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    idx.add(i);
                }
                nodes.add(new Capacity.Node("sim-" + type + "-" + n, type, idx, true));
            }
        }
        return new Capacity(nodes);
    }

    private static String cell(List<String> cells, int i) {
        return i < 0 || i >= cells.size() ? null : cells.get(i).trim();
    }

    private static Integer parsePercent(String s) {
        String digits = s.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? null : Integer.parseInt(digits);
    }

    /** GPUs' utilization by index, from nvidia-smi at most every 15 seconds, however many environments ask. */
    static final class Utilization {
        private volatile Map<Integer, Integer> last = Map.of();
        private volatile long readAt;

        Map<Integer, Integer> now() {
            long t = System.nanoTime();
            if (readAt == 0 || t - readAt > 15_000_000_000L) {
                Map<Integer, Integer> m = new java.util.HashMap<>();
                for (var gpu : discover()) {
                    if (gpu.utilizationPercent() != null) {
                        m.put(gpu.index(), gpu.utilizationPercent());
                    }
                }
                last = m;
                readAt = t;
            }
            return last;
        }
    }
}
