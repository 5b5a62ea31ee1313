package dev.gpudev.backend.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a box's keeper: how the home reaches the owner's uid (staged on a /run of the
 * box's own, as root), which network it joins (its own from unshare, or node 0's for a gang's other
 * nodes), and bubblewrap's namespaces and mounts: only the host's /usr, /etc without its secrets and
 * /opt, sized /tmp and /dev/shm, an empty /home but for its own, the data dir hidden, its GPUs' devices.
 */
final class BoxCommandLine {
    static final List<String> NVIDIA_CONTROL = List.of("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
            "/dev/nvidia-modeset");
    /** What of /etc the box never sees. */
    static final List<String> SECRETS = List.of("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
            "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key");

    private BoxCommandLine() {
    }

    /** The keeper, as the server starts it (a session and a group of its own are added by the box). */
    static List<String> keeper(Sandbox.Bubblewrap sandbox, Box.Spec spec, boolean root, boolean ownNet, boolean dieWithParent) {
        List<String> cmd = new ArrayList<>();
        String homeSource;
        String rootSource = spec.image() == null ? null : spec.image().rootfs().toString();
        if (root) {
            // The owner's uid has no way through the data dir's path (it has none), so the home (and an image's
            // root file system, read-only) is staged where it can reach it: bound by root onto a fresh /run, in a
            // mount namespace of the box's own. The identity files go as file descriptors, opened here by the server.
            cmd.addAll(List.of("/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/bash", "-c",
                    "mount -t tmpfs -o mode=0755 gpudev /run && mkdir /run/gpudev-home && mount --bind \"$1\" /run/gpudev-home"
                            + " && { [ -z \"$4\" ] || { mkdir /run/gpudev-root && mount --bind \"$4\" /run/gpudev-root"
                            + " && mount -o remount,bind,ro,nosuid,nodev /run/gpudev-root; }; }"
                            + " && exec 4<\"$2\" 5<\"$3\" && shift 4 && exec \"$@\"",
                    "gpudev-box", spec.home().toString(), spec.envDir().resolve("passwd").toString(), spec.envDir().resolve("group").toString(),
                    rootSource == null ? "" : rootSource,
                    "/usr/bin/setpriv", "--reuid=" + spec.uid(), "--regid=" + spec.uid(), "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--"));
            homeSource = "/run/gpudev-home";
            if (rootSource != null) {
                rootSource = "/run/gpudev-root";
            }
        } else {
            cmd.addAll(List.of("/bin/bash", "-c", "exec 4<\"$1\" 5<\"$2\" && shift 2 && exec \"$@\"", "gpudev-box",
                    spec.envDir().resolve("passwd").toString(), spec.envDir().resolve("group").toString()));
            homeSource = spec.home().toString();
        }
        if (spec.network() != null && spec.network().networkHolder() != null) {
            // A gang's node joins node 0's network: MASTER_ADDR 127.0.0.1 is node 0's, and nothing else's.
            long holder = spec.network().networkHolder();
            cmd.addAll(List.of("/usr/bin/nsenter", "--preserve-credentials", "--user=/proc/" + holder + "/ns/user",
                    "--net=/proc/" + holder + "/ns/net", "--"));
        } else if (ownNet) {
            // The network namespace comes from unshare, not from bwrap's nested ones: slirp4netns can join it.
            cmd.addAll(List.of("/usr/bin/unshare", "--user", "--map-current-user", "--net", "--"));
        }
        cmd.addAll(List.of(sandbox.executable(), "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--share-net", "--disable-userns", "--hostname", spec.name()));
        if (dieWithParent) {
            cmd.add("--die-with-parent");
        }
        if (rootSource == null) {
            system(cmd);
        } else {
            image(cmd, rootSource);
        }
        cmd.addAll(List.of("--dev", "/dev", "--proc", "/proc"));
        long tmp = spec.limits().tmpBytes();
        if (tmp > 0) {
            cmd.addAll(List.of("--size", Long.toString(tmp), "--tmpfs", "/tmp", "--size", Long.toString(tmp), "--tmpfs", "/dev/shm"));
        } else {
            cmd.addAll(List.of("--tmpfs", "/tmp", "--tmpfs", "/dev/shm"));
        }
        // Other people's homes on this machine are not the box's business; its own is /home/<owner>.
        cmd.addAll(List.of("--tmpfs", "/home", "--bind", homeSource, spec.boxHome(), "--tmpfs", "/run",
                "--ro-bind-data", "4", "/etc/passwd", "--ro-bind-data", "5", "/etc/group"));
        if (spec.image() != null) {
            cmd.addAll(List.of("--tmpfs", "/.gpudev/run"));
            if (Accounts.traversable(spec.hiddenDataDir(), spec.uid()) && within(spec.hiddenDataDir(), List.of("/usr"))) {
                // the host's /usr is seen under /.gpudev/host: where the data dir is in it, an empty one is seen
                cmd.addAll(List.of("--tmpfs", HOST + spec.hiddenDataDir().toAbsolutePath()));
            }
            if (!spec.devices().isEmpty()) {
                nvidiaDriver(cmd);
            }
        }
        if (spec.image() == null && Accounts.traversable(spec.hiddenDataDir(), spec.uid()) && within(spec.hiddenDataDir(), List.of("/usr", "/etc", "/opt"))) {
            // Where the owner could find the server's data dir, it finds an empty one.
            cmd.addAll(List.of("--tmpfs", spec.hiddenDataDir().toString()));
        }
        for (int d : spec.devices()) {
            bindDevice(cmd, "/dev/nvidia" + d);
        }
        if (!spec.devices().isEmpty()) {
            NVIDIA_CONTROL.forEach(dev -> bindDevice(cmd, dev));
        }
        cmd.addAll(List.of("--chdir", spec.boxHome(), "--clearenv", "--"));
        cmd.addAll(hostTool(spec, "/usr/bin/sleep"));
        cmd.add("infinity");
        return cmd;
    }

    /** Where the host's system is seen in a box on an image: read-only, under this path. */
    static final String HOST = "/.gpudev/host";

    /**
     * An image's root file system, read-only (files written go to the home, /tmp and /var/tmp), with the
     * host's /usr and libraries under {@link #HOST} for the platform's own tools, and the host's name
     * resolution (its network is the box's).
     */
    private static void image(List<String> cmd, String rootSource) {
        cmd.addAll(List.of("--ro-bind", rootSource, "/", "--ro-bind", "/usr", HOST + "/usr"));
        for (String top : List.of("/lib", "/lib64")) {
            try {
                Path real = Path.of(top).toRealPath();
                if (!real.startsWith("/usr")) {
                    cmd.addAll(List.of("--ro-bind", real.toString(), HOST + top));
                }
            } catch (IOException e) {
                // not on this machine
            }
        }
        for (String f : List.of("/etc/resolv.conf", "/etc/hosts")) {
            if (Files.isRegularFile(Path.of(f))) {
                cmd.addAll(List.of("--ro-bind", f, f));
            }
        }
        cmd.addAll(List.of("--tmpfs", "/var/tmp"));
    }

    /** The host's loader: how a host program runs on an image's root, whatever libc the image has (or none). */
    static final List<String> LOADERS = List.of("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1");
    static final List<String> LIBRARY_DIRS = List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64");

    /** A host program as the box starts it: itself, or on an image by the host's loader from {@link #HOST}. */
    static List<String> hostTool(Box.Spec spec, String program) {
        if (spec.image() == null) {
            return List.of(program);
        }
        String loader = null;
        for (String l : LOADERS) {
            Path p = Path.of(l);
            if (Files.exists(p)) {
                loader = inHost(p);
                break;
            }
        }
        List<String> dirs = new ArrayList<>();
        for (String d : LIBRARY_DIRS) {
            Path p = Path.of(d);
            if (Files.isDirectory(p)) {
                String in = inHost(p);
                if (in != null && !dirs.contains(in)) {
                    dirs.add(in);
                }
            }
        }
        String real = inHost(Path.of(program));
        if (loader == null || real == null) {
            throw new IllegalStateException("the host's loader or " + program + " cannot be found for a box on an image");
        }
        return List.of(loader, "--library-path", String.join(":", dirs), real);
    }

    /** Where a host path is seen in a box on an image (its real path, under /.gpudev/host), or null. */
    private static String inHost(Path p) {
        try {
            Path real = p.toRealPath();
            return real.startsWith("/usr") || real.startsWith("/lib") || real.startsWith("/lib64") ? HOST + real : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The host's NVIDIA driver (its user-space libraries and nvidia-smi), as the NVIDIA container toolkit
     * gives a container: bound read-only under /.gpudev/run/nvidia, found with {@code ldconfig -p}.
     */
    private static void nvidiaDriver(List<String> cmd) {
        for (String lib : NvidiaDriver.libraries()) {
            cmd.addAll(List.of("--ro-bind", lib, NvidiaDriver.LIB_DIR + "/" + Path.of(lib).getFileName()));
        }
        for (String bin : List.of("/usr/bin/nvidia-smi", "/usr/bin/nvidia-debugdump")) {
            if (Files.isRegularFile(Path.of(bin))) {
                cmd.addAll(List.of("--ro-bind", bin, NvidiaDriver.BIN_DIR + "/" + Path.of(bin).getFileName()));
            }
        }
    }

    /** Only the system the box needs of the host: /usr and its links, /etc without secrets, /opt. */
    private static void system(List<String> cmd) {
        cmd.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String top : List.of("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")) {
            Path p = Path.of(top);
            if (Files.isSymbolicLink(p)) {
                try {
                    cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), top));
                } catch (IOException e) {
                    // not there after all
                }
            } else if (Files.isDirectory(p)) {
                cmd.addAll(List.of("--ro-bind", top, top));
            }
        }
        cmd.addAll(List.of("--ro-bind", "/etc", "/etc", "--ro-bind-try", "/opt", "/opt"));
        for (String secret : SECRETS) {
            if (Files.exists(Path.of(secret))) {
                cmd.addAll(List.of("--ro-bind", "/dev/null", secret));
            }
        }
        cmd.addAll(List.of("--dir", "/var", "--tmpfs", "/var/tmp", "--symlink", "../run", "/var/run"));
    }

    private static boolean within(Path p, List<String> roots) {
        Path a = p.toAbsolutePath();
        return roots.stream().anyMatch(r -> a.startsWith(r));
    }

    private static void bindDevice(List<String> cmd, String dev) {
        if (Files.exists(Path.of(dev))) {
            cmd.addAll(List.of("--dev-bind", dev, dev));
        }
    }
}
