package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendContract;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The local backend keeps the contract every backend keeps. */
class LocalBackendContractTest extends BackendContract {
    @TempDir
    Path dataDir;

    @Override
    protected Backend newBackend() {
        return new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3), true))),
                new Sandbox.Plain());
    }

    @Override
    protected void putOnDisk(DiskRef disk, String path, String content) throws Exception {
        Path file = dataDir.resolve("disks").resolve(Long.toString(disk.id())).resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    @Override
    protected boolean accepts(String name, String publicKey) {
        return LocalBackendProbe.accepts((LocalBackend) backend, name, publicKey);
    }

    @Override
    protected java.util.Map<String, String> notices(String name) throws java.io.IOException {
        return LocalBackendProbe.notices((LocalBackend) backend, name);
    }
}
