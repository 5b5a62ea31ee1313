package dev.gpudev.backend.spi;

import dev.gpudev.core.BackendTraits;

import java.io.IOException;

/**
 * A kind of backend, chosen by its name from the server's options: its traits are known before (and
 * without) making it, and {@link #create} makes the one a processor drives.
 */
public interface BackendFactory {
    /** The name the server's {@code --backend} gives it. */
    String name();

    /** What it is, without making it (an API replica needs no more). */
    BackendTraits traits();

    /** The backend a processor drives. */
    Backend create() throws IOException;
}
