package dev.gpudev.store;

import java.time.Instant;

public record User(long userId, String username, String email, Instant createdAt, boolean active, boolean admin) {
}
