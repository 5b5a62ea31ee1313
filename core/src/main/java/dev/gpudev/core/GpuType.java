package dev.gpudev.core;

/** A kind of GPU capacity ("flavor" in Kueue's words) and how many GPUs one node of it has. */
public record GpuType(String name, int gpusPerNode) {
}
