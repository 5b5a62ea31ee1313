package dev.gpudev.api;

/** Who is asking: the user behind the API key of this request. */
public record Caller(long userId, String username, boolean admin, long keyId) {
}
