package dev.gpudev.backend.spi;

import java.time.Instant;
import java.util.List;

/** A disk's entries, whether there were more than listed, and the bytes of all its files. */
public record DiskListing(List<Entry> entries, boolean truncated, long totalBytes) {
    public DiskListing {
        entries = List.copyOf(entries);
    }

    /** One file or directory, by its path relative to the disk's root. */
    public record Entry(String path, long size, boolean directory, Instant modified) {
    }
}
