package dev.gpudev.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Secrets handed to users (API keys, invite tokens): random, URL-safe, stored only as SHA-256. */
public final class Tokens {
    private static final SecureRandom RANDOM = new SecureRandom();
    public static final int PREFIX_LENGTH = 8;

    private Tokens() {
    }

    /** 64 random bytes, URL-safe base64 without padding (86 characters). */
    public static String newSecret() {
        byte[] bytes = new byte[64];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    public static String sha256Hex(String secret) {
        return sha256Hex(secret.getBytes(StandardCharsets.UTF_8));
    }

    /** The SHA-256 of these bytes in lower-case hex (a build context's hash is "sha256:" and this). */
    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String prefix(String secret) {
        return secret.substring(0, Math.min(PREFIX_LENGTH, secret.length()));
    }
}
