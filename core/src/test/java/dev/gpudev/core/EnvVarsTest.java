package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EnvVarsTest {
    @Test
    void variablesAreCheckedAndTheirValuesNeverPrinted() {
        assertDoesNotThrow(() -> new EnvVars(Map.of("WANDB_API_KEY", "s3cret", "_x1", "")).validate());
        for (var bad : java.util.List.of(Map.of("1X", "v"), Map.of("A-B", "v"), Map.of("CUDA_VISIBLE_DEVICES", "9"), Map.of("PATH", "/x"),
                Map.of("GPU_DEV_ENVIRONMENT", "x"), Map.of("X", "a".repeat(4097)), Map.of("X", "a\0b"))) {
            assertThrows(ValidationException.class, () -> new EnvVars(bad).validate(), bad.keySet().toString());
        }
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 51; i++) {
            many.put("V" + i, "x");
        }
        assertThrows(ValidationException.class, () -> new EnvVars(many).validate());
        EnvVars secret = new EnvVars(Map.of("TOKEN", "s3cret"));
        assertEquals("EnvVars[1 variables]", secret.toString());
        assertFalse(Reservation.Options.NONE.withEnv(secret).toString().contains("s3cret"), "not in a reservation's text either");
    }
}
