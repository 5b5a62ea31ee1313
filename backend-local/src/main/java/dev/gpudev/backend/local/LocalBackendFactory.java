package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendFactory;
import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.Capacity;

import java.nio.file.Path;
import java.util.function.Supplier;

/** This machine's environments: the best sandbox it has, the GPUs it has (or declared simulated ones). */
public final class LocalBackendFactory implements BackendFactory {
    private final Path dataDir;
    private final Supplier<Capacity> capacity;
    private final Sandbox sandbox;
    private final LocalBackend.Settings settings;

    /** @param capacity read only when the backend is made (GPU discovery runs nvidia-smi) */
    public LocalBackendFactory(Path dataDir, Supplier<Capacity> capacity, LocalBackend.Settings settings) {
        this.dataDir = dataDir;
        this.capacity = capacity;
        this.sandbox = Sandbox.detect();
        this.settings = settings;
    }

    static BackendTraits traits(Sandbox sandbox) {
        return new BackendTraits("local", sandbox.isolates(), null);
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public BackendTraits traits() {
        return traits(sandbox);
    }

    @Override
    public Backend create() {
        return new LocalBackend(dataDir, capacity.get(), sandbox, settings);
    }
}
