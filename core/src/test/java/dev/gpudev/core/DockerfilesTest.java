package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DockerfilesTest {
    /** A gzip'd tar of these entries: name, type ('0' a file, '2' a link) and content. */
    static byte[] tar(String[]... entries) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            for (String[] e : entries) {
                byte[] content = e[2].getBytes(StandardCharsets.UTF_8);
                byte[] h = new byte[512];
                byte[] name = e[0].getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(name, 0, h, 0, name.length);
                byte[] size = String.format("%011o", e[1].equals("0") ? content.length : 0).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(size, 0, h, 124, size.length);
                h[156] = (byte) e[1].charAt(0);
                gz.write(h);
                if (e[1].equals("0")) {
                    gz.write(content);
                    gz.write(new byte[(512 - content.length % 512) % 512]);
                }
            }
            gz.write(new byte[1024]);
        }
        return out.toByteArray();
    }

    @Test
    void theDockerfileIsTheOneUnpackingLeavesTheLastOfItsName() throws Exception {
        byte[] twice = tar(new String[]{"Dockerfile", "0", "FROM nvcr.io/ok:1\n"}, new String[]{"src/a.py", "0", "print(1)\n"},
                new String[]{"./Dockerfile", "0", "FROM evil.example.com/x:1\n"});
        assertEquals("FROM evil.example.com/x:1\n", Dockerfiles.dockerfileOf(twice), "not a harmless first one beside what is built");
        assertEquals(Set.of("evil.example.com/x:1"), Dockerfiles.bases(Dockerfiles.dockerfileOf(twice)));
        byte[] link = tar(new String[]{"Dockerfile", "0", "FROM nvcr.io/ok:1\n"}, new String[]{"Dockerfile", "2", ""});
        var e = assertThrows(IllegalArgumentException.class, () -> Dockerfiles.dockerfileOf(link));
        assertTrue(e.getMessage().contains("a regular file, not a link"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Dockerfiles.dockerfileOf(tar(new String[]{"src/a.py", "0", "x"})));
        assertThrows(IllegalArgumentException.class, () -> Dockerfiles.dockerfileOf(new byte[]{1, 2, 3}));
    }
}
