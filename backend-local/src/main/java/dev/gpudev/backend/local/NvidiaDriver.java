package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The host's NVIDIA driver libraries, for boxes on an image (which has its own CUDA toolkit but never
 * the driver, whose user-space part must match the kernel's): found as the NVIDIA container toolkit finds
 * them, in the loader's cache ({@code ldconfig -p}), once.
 */
final class NvidiaDriver {
    /** Where a box on an image finds them. */
    static final String LIB_DIR = "/.gpudev/run/nvidia/lib";
    static final String BIN_DIR = "/.gpudev/run/nvidia/bin";
    /** The driver's user-space libraries (not the CUDA toolkit's, which the image brings). */
    private static final Pattern DRIVER = Pattern.compile(
            "^(libcuda|libcudadebugger|libnvidia-[a-z0-9-]+|libnvcuvid|libnvoptix|libnvidia-ml)\\.so(\\.\\d+)*$");
    private static volatile List<String> found;

    private NvidiaDriver() {
    }

    /** Their paths on the host (one per name, the 64-bit ones), empty on a machine without the driver. */
    static List<String> libraries() {
        List<String> f = found;
        if (f == null) {
            f = parse(ldconfig());
            found = f;
        }
        return f;
    }

    static List<String> parse(String ldconfigOutput) {
        Map<String, String> byName = new LinkedHashMap<>();
        for (String line : ldconfigOutput.split("\n")) {
            // "\tlibcuda.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcuda.so.1"
            int arrow = line.indexOf("=>");
            if (arrow < 0 || !line.contains("x86-64") && !line.contains("AArch64")) {
                continue;
            }
            String name = line.substring(0, line.indexOf('(') < 0 ? arrow : line.indexOf('(')).strip();
            String path = line.substring(arrow + 2).strip();
            if (DRIVER.matcher(name).matches() && path.startsWith("/") && Files.isRegularFile(Path.of(path))) {
                byName.putIfAbsent(name, path);
            }
        }
        return List.copyOf(new ArrayList<>(byName.values()));
    }

    private static String ldconfig() {
        for (String exe : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig")) {
            if (!Files.isExecutable(Path.of(exe))) {
                continue;
            }
            try {
                Process p = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
                byte[] out = p.getInputStream().readAllBytes();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return new String(out, StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                return "";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "";
            }
        }
        return "";
    }
}
