package dev.gpudev.api;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiConfigTest {
    @Test
    void aKeysLifetimeIsMinutesHoursOrDaysAndABadOneIsSaidAtOnce() {
        assertEquals(Duration.ofHours(2), ApiConfig.ttlFromEnvironment(Map.of()));
        assertEquals(Duration.ofMinutes(30), ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "30m")));
        assertEquals(Duration.ofHours(8), ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "8h")));
        assertEquals(Duration.ofDays(2), ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "2d")));
        assertEquals(Duration.ofHours(12), ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL_HOURS", "12")));
        var bad = assertThrows(IllegalArgumentException.class, () -> ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "soon")));
        assertTrue(bad.getMessage().contains("30m"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "1m")));
        assertThrows(IllegalArgumentException.class, () -> ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL_HOURS", "2h")));
        assertThrows(IllegalArgumentException.class, () -> ApiConfig.ttlFromEnvironment(Map.of("API_KEY_TTL", "9d")));
    }
}
