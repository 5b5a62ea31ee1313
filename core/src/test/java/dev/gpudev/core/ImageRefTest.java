package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageRefTest {
    @Test
    void referencesAreCheckedAgainstTheAllowedRegistriesAndPaths() {
        assertEquals("docker.io", ImageRef.registryOf("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel"));
        assertEquals("docker.io", ImageRef.registryOf("ubuntu"));
        assertEquals("ghcr.io", ImageRef.registryOf("ghcr.io/org/img@sha256:" + "a".repeat(64)));
        assertEquals("127.0.0.1:5000", ImageRef.registryOf("127.0.0.1:5000/x/y:1"));
        assertNull(ImageRef.refused("nvcr.io/nvidia/pytorch:24.10-py3", List.of()));
        assertNull(ImageRef.refused("nvcr.io/nvidia/pytorch:24.10-py3", List.of("nvcr.io", "/srv/images")));
        assertEquals("images from docker.io are not allowed here; allowed: nvcr.io", ImageRef.refused("ubuntu:24.04", List.of("nvcr.io")));
        assertTrue(ImageRef.refused("oci:/srv/images/x:1", List.of()).startsWith("images from local paths are not allowed here"));
        assertNull(ImageRef.refused("oci:/srv/images/x:1", List.of("/srv/images")));
        assertTrue(ImageRef.refused("oci:/srv/images/../../etc:1", List.of("/srv/images")).startsWith("images from local paths"));
        assertTrue(ImageRef.refused("bad ref; rm -rf /", List.of()).contains("is not an image reference"));
        assertTrue(ImageRef.refused("Corp/x:1", List.of()).contains("lower case"), "not docker.io/Corp/x, not a host Corp");
    }
}
