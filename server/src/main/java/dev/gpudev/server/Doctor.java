package dev.gpudev.server;

import dev.gpudev.backend.local.GpuInventory;
import dev.gpudev.backend.local.LocalBackend;
import dev.gpudev.backend.local.Sandbox;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * `gpu-dev server doctor`: checks what a local environment needs, then starts a throwaway one on
 * GPU 0 and runs `nvidia-smi -L` in it through the real ssh client.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, description = "Checks GPU discovery, the sandbox and ssh on this machine.")
final class Doctor implements Callable<Integer> {

    @Option(names = "--simulated-gpus", description = "check with declared GPUs instead of nvidia-smi")
    String simulatedGpus;

    private int failures;

    @Override
    public Integer call() throws Exception {
        GpuCatalog catalog = GpuCatalog.standard();
        List<GpuInventory.Gpu> gpus = GpuInventory.discover();
        Capacity capacity;
        if (simulatedGpus != null) {
            capacity = GpuInventory.simulated(simulatedGpus, catalog);
            report(true, "GPUs", "simulated: " + Platform.describe(capacity));
        } else {
            capacity = GpuInventory.fromGpus(gpus, catalog, "local");
            report(!gpus.isEmpty(), "GPUs", gpus.isEmpty() ? "nvidia-smi found none (use --simulated-gpus to declare some)"
                    : gpus.size() + " found: " + gpus.stream().map(g -> g.index() + "=" + g.name()).toList()
                    + " -> " + Platform.describe(capacity));
        }
        Sandbox sandbox = Sandbox.detect();
        Path tmp = Files.createTempDirectory("gpudev-doctor");
        Path home = Files.createDirectories(tmp.resolve("home"));
        report(sandbox.isolates(), "isolation", sandbox.describe());
        String sshVersion = run(List.of("ssh", "-V"));
        boolean sshOk = sshVersion.contains("OpenSSH");
        report(sshOk, "ssh", sshVersion.trim());
        if (sshOk && !capacity.nodes().isEmpty()) {
            environmentCheck(capacity, sandbox, tmp);
        }
        System.out.println(failures == 0 ? "doctor: all checks passed" : "doctor: " + failures + " check(s) failed");
        return failures == 0 ? 0 : 1;
    }

    private void environmentCheck(Capacity capacity, Sandbox sandbox, Path tmp) throws Exception {
        Path key = tmp.resolve("id_ed25519");
        run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()));
        String pub = Files.readString(tmp.resolve("id_ed25519.pub")).trim();
        try (LocalBackend backend = new LocalBackend(tmp.resolve("data"), capacity, sandbox)) {
            var node = capacity.nodes().getFirst();
            backend.ensure(new EnvironmentSpec(UUID.randomUUID(), "gpudev-doctor", 0, new EnvironmentSpec.Owner(0, "doctor"),
                    node.name(), Math.min(1, node.gpus().size()), List.of(pub), null, new EnvironmentSpec.Home.Scratch(), null,
                    null));
            Observed.Phase.Ready env = null;
            for (int i = 0; i < 200 && env == null; i++) { // ensure does not wait: the environment is ready when observed so
                if (backend.observe().get("gpudev-doctor").phase() instanceof Observed.Phase.Ready ready) {
                    env = ready;
                } else {
                    Thread.sleep(50);
                }
            }
            if (env == null) {
                report(false, "environment", "the throwaway environment did not become ready");
                return;
            }
            String out = run(List.of("ssh", "-i", key.toString(), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                    "-p", Integer.toString(env.sshPort()), "doctor@" + env.sshHost(),
                    "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; nvidia-smi -L 2>&1 || echo '(nvidia-smi not available in the environment)'"));
            System.out.println("  environment output:");
            out.lines().forEach(l -> System.out.println("    " + l));
            report(out.contains("CUDA_VISIBLE_DEVICES=0"), "environment", "throwaway environment on GPU 0 via ssh");
            backend.destroy("gpudev-doctor");
        }
    }

    private void report(boolean ok, String what, String detail) {
        if (!ok) {
            failures++;
        }
        System.out.printf("[%s] %-12s %s%n", ok ? " ok " : "FAIL", what, detail);
    }

    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(60, TimeUnit.SECONDS);
            return out;
        } catch (Exception e) {
            return "could not run " + cmd.getFirst() + ": " + e.getMessage();
        }
    }
}
