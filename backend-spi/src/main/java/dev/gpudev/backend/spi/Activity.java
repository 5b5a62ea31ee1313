package dev.gpudev.backend.spi;

/** Signs of use of an environment: open SSH sessions and GPU utilization (percent; null when unknown). */
public record Activity(int openSessions, Integer gpuUtilizationPercent) {
}
