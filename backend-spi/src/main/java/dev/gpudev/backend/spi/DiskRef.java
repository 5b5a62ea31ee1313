package dev.gpudev.backend.spi;

/**
 * A disk by its stable id (a rename changes only the database). Owner and name are for messages, and
 * for finding files a backend kept under them before disks had ids.
 */
public record DiskRef(long id, long ownerId, String owner, String name) {
}
