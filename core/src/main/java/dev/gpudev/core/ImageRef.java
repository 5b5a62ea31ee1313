package dev.gpudev.core;

import java.nio.file.Path;
import java.util.List;

/**
 * A container image's reference and where it comes from: a registry ("docker.io" when it names none), or
 * (for the local backend) an OCI layout or archive on the machine ({@code oci:/path:tag},
 * {@code oci-archive:/path.tar}). Which may be used is the admin's ({@code --allowed-registries}), checked at
 * submit and again where the image is pulled.
 */
public final class ImageRef {
    private ImageRef() {
    }

    /** Whether it names a layout or archive on the machine rather than a registry's image. */
    public static boolean local(String reference) {
        return reference.startsWith("oci:") || reference.startsWith("oci-archive:");
    }

    /** The registry (host[:port]) of a reference, or the path of a local layout or archive. */
    public static String registryOf(String reference) {
        String r = reference;
        if (local(r)) {
            return r.substring(r.indexOf(':') + 1).split(":", 2)[0];
        }
        if (r.startsWith("docker://")) {
            r = r.substring("docker://".length());
        }
        int slash = r.indexOf('/');
        if (slash < 0) {
            return "docker.io";
        }
        String first = r.substring(0, slash);
        return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : "docker.io";
    }

    /**
     * Why this reference may not be used, in words; null when it may.
     *
     * @param allowed registries (host[:port]) and, starting with '/', folders of layouts or archives; empty: any
     *                registry and no folder
     */
    public static String refused(String reference, List<String> allowed) {
        if (local(reference)) {
            Path p = Path.of(registryOf(reference)).normalize();
            if (!p.isAbsolute() || allowed.stream().filter(a -> a.startsWith("/")).noneMatch(a -> p.startsWith(Path.of(a)))) {
                return "images from local paths are not allowed here (" + p + "): the admin allows them with --allowed-registries /PATH";
            }
            return null;
        }
        if (!reference.matches("(docker://)?[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}") || reference.contains("..")) {
            return "'" + reference + "' is not an image reference like registry.example.com/team/image:tag";
        }
        String first = reference.replaceFirst("^docker://", "").split("/", 2)[0];
        if (reference.contains("/") && !first.equals(first.toLowerCase(java.util.Locale.ROOT))) {
            return "'" + reference + "': a registry or a repository's first part is in lower case";
        }
        String registry = registryOf(reference);
        List<String> registries = allowed.stream().filter(a -> !a.startsWith("/")).toList();
        if (!allowed.isEmpty() && !registries.contains(registry)) {
            return "images from " + registry + " are not allowed here; allowed: "
                    + (registries.isEmpty() ? "none" : String.join(", ", registries));
        }
        return null;
    }
}
