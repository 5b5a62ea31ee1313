package dev.gpudev.backend.local;

import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendContract;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.core.Capacity;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The local backend keeps the contract with its real isolation too (bubblewrap, a uid per user, own network). */
class LocalBackendInBubblewrapContractTest extends BackendContract {
    @TempDir
    Path dataDir;

    @Override
    protected Backend newBackend() {
        Sandbox sandbox = Sandbox.detect();
        assumeTrue(sandbox instanceof Sandbox.Bubblewrap, "bubblewrap is not installed here");
        return new LocalBackend(dataDir, new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3), true))), sandbox);
    }

    @Override
    protected void putOnDisk(DiskRef disk, String path, String content) throws Exception {
        Path dir = dataDir.resolve("disks").resolve(Long.toString(disk.id()));
        Path file = dir.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        // as the disk's owner wrote it from an environment: its files are theirs
        var sandbox = (Sandbox.Bubblewrap) Sandbox.detect();
        if (sandbox.uidBase() >= 0) {
            int uid = Accounts.uid(sandbox.uidBase(), disk.ownerId());
            try (var all = Files.walk(dir)) {
                for (Path p : all.toList()) {
                    Files.setAttribute(p, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "unix:gid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
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
