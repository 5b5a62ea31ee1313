package dev.gpudev.api;

import dev.gpudev.store.GpuHours;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * GPU-hours of stretches of use within a window, by type and by day (UTC): what {@code gpu-dev usage}
 * and the dashboard's usage chart show. Pure arithmetic.
 */
record UsageReport(Map<String, Double> byType, Map<LocalDate, Map<String, Double>> byDay) {

    static UsageReport of(List<GpuHours.Stretch> stretches, Instant since, Instant until) {
        Map<String, Double> byType = new TreeMap<>();
        Map<LocalDate, Map<String, Double>> byDay = new TreeMap<>();
        for (LocalDate d = day(since); !d.isAfter(day(until.minusMillis(1))); d = d.plusDays(1)) {
            byDay.put(d, new TreeMap<>());
        }
        for (var s : stretches) {
            Instant from = s.from().isBefore(since) ? since : s.from();
            Instant to = s.to().isAfter(until) ? until : s.to();
            while (from.isBefore(to)) {
                LocalDate d = day(from);
                Instant dayEnd = d.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
                Instant end = dayEnd.isBefore(to) ? dayEnd : to;
                double h = s.gpus() * Duration.between(from, end).toMillis() / 3_600_000.0;
                byType.merge(s.gpuType(), h, Double::sum);
                byDay.computeIfAbsent(d, k -> new TreeMap<>()).merge(s.gpuType(), h, Double::sum);
                from = end;
            }
        }
        return new UsageReport(byType, byDay);
    }

    double total() {
        return byType.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    private static LocalDate day(Instant t) {
        return LocalDate.ofInstant(t, ZoneOffset.UTC);
    }

    /** Hours rounded to thousandths (3.6 s of one GPU), for JSON. */
    static double rounded(double hours) {
        return Math.round(hours * 1000) / 1000.0;
    }
}
