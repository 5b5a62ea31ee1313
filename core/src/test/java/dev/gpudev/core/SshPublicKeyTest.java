package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SshPublicKeyTest {
    // A real ed25519 public key and the fingerprint `ssh-keygen -lf` prints for it.
    static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ alice@laptop";

    @Test
    void parsesTypeBodyAndComment() {
        SshPublicKey k = SshPublicKey.parse(KEY);
        assertEquals("ssh-ed25519", k.type());
        assertEquals("alice@laptop", k.comment());
        assertEquals(KEY.substring(0, KEY.lastIndexOf(' ')), k.line());
    }

    @Test
    void fingerprintIsSha256OfTheBlobLikeSshKeygen() throws Exception {
        String fp = SshPublicKey.parse(KEY).fingerprint();
        Process p = new ProcessBuilder("ssh-keygen", "-lf", "-").redirectErrorStream(true).start();
        p.getOutputStream().write((KEY + "\n").getBytes());
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        assertEquals(out.split(" ")[1], fp, out);
    }

    @Test
    void refusesWhatIsNotAPublicKey() {
        assertThrows(ValidationException.class, () -> SshPublicKey.parse(""));
        assertThrows(ValidationException.class, () -> SshPublicKey.parse("hello world"));
        assertThrows(ValidationException.class, () -> SshPublicKey.parse("ssh-ed25519 !!!notbase64"));
        assertThrows(ValidationException.class, () -> SshPublicKey.parse("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ"));
        assertThrows(ValidationException.class, () -> SshPublicKey.parse("-----BEGIN OPENSSH PRIVATE KEY-----"));
    }
}
