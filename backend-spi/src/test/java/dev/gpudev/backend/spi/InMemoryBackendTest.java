package dev.gpudev.backend.spi;

import dev.gpudev.core.Capacity;

import java.util.List;

/** The in-memory backend of the processor tests keeps the same contract as the real ones. */
class InMemoryBackendTest extends BackendContract {
    private InMemoryBackend memory;

    @Override
    protected Backend newBackend() {
        memory = new InMemoryBackend(new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3), true))));
        memory.startingFor = 2;
        return memory;
    }

    @Override
    protected void putOnDisk(DiskRef disk, String path, String content) {
        memory.putOnDisk(disk.id(), path, content);
    }

    @Override
    protected boolean accepts(String name, String publicKey) {
        return memory.env(name).spec.authorizedKeys().contains(publicKey);
    }

    @Override
    protected java.util.Map<String, String> notices(String name) {
        return java.util.Map.copyOf(memory.env(name).notices);
    }
}
