package dev.gpudev.core;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Set;

/** An OpenSSH public key line ("type base64 [comment]"), checked and fingerprinted as ssh-keygen does. */
public record SshPublicKey(String type, String base64, String comment) {
    private static final Set<String> TYPES = Set.of("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com");

    public static SshPublicKey parse(String line) {
        if (line == null || line.isBlank()) {
            throw new ValidationException("public_key is required: paste the contents of ~/.ssh/id_ed25519.pub");
        }
        if (line.length() > 16_384) {
            throw new ValidationException("public_key is too long");
        }
        String[] parts = line.trim().split("\\s+", 3);
        if (parts.length < 2 || !TYPES.contains(parts[0])) {
            throw new ValidationException("public_key is not an OpenSSH public key: expected 'ssh-ed25519 AAAA... comment'"
                    + " (types: " + String.join(", ", TYPES.stream().sorted().toList()) + ")");
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("public_key has a corrupt base64 body");
        }
        ByteBuffer buf = ByteBuffer.wrap(blob);
        try {
            int len = buf.getInt();
            if (len < 0 || len > buf.remaining()) {
                throw new ValidationException("public_key has a corrupt body");
            }
            byte[] type = new byte[len];
            buf.get(type);
            if (!new String(type, StandardCharsets.US_ASCII).equals(parts[0])) {
                throw new ValidationException("public_key body does not match its type " + parts[0]);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new ValidationException("public_key has a corrupt body");
        }
        String comment = parts.length == 3 ? parts[2].replaceAll("[\\p{Cntrl}]", "") : "";
        return new SshPublicKey(parts[0], parts[1], comment);
    }

    /** "SHA256:..." exactly as `ssh-keygen -lf` prints it. */
    public String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Base64.getDecoder().decode(base64));
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The key without its comment, as stored in authorized_keys. */
    public String line() {
        return type + " " + base64;
    }
}
