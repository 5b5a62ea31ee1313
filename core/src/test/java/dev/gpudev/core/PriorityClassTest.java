package dev.gpudev.core;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Admin-defined priority classes: parsed from the server's flag, looked up by name, and ordering the queue. */
class PriorityClassTest {
    @AfterEach
    void builtInAgain() {
        PriorityClass.define(List.of());
    }

    @Test
    void aClassIsParsedFromItsFlagAndWhatIsNotSaidIsAsNormal() {
        assertEquals(new PriorityClass("urgent", 12, 1, false, true, 0), PriorityClass.parse("urgent:boost=12,admin"));
        assertEquals(new PriorityClass("batch", -6, 0.5, false, false, 20), PriorityClass.parse("batch:boost=-6,usage=0.5,max-waiting=20"));
        assertEquals(new PriorityClass("spot", 0, 0.1, true, false, 0), PriorityClass.parse("spot:preemptible,usage=0.1"));
        assertEquals(new PriorityClass("plain", 0, 1, false, false, 0), PriorityClass.parse("plain"));
        assertEquals(new PriorityClass("high", 24, 1, false, true, 0), PriorityClass.parse("high:boost=24"), "a built-in keeps what is not said");
        assertEquals(new PriorityClass("preemptible", 0, 0.5, true, false, 0), PriorityClass.parse("preemptible:usage=0.5"));
        for (String bad : List.of("Urgent", "urgent:boost=lots", "urgent:colour=red", "x:usage=99", "x:max-waiting=-1", "")) {
            var e = assertThrows(ValidationException.class, () -> PriorityClass.parse(bad), bad);
            assertTrue(e.getMessage().length() > 10, e.getMessage());
        }
    }

    @Test
    void definedClassesAreLookedUpAndAnUnknownOneListsThoseThereAre() {
        PriorityClass.define(List.of(PriorityClass.parse("urgent:boost=12,admin"), PriorityClass.parse("high:boost=24,admin")));
        assertEquals(12, PriorityClass.of("urgent").boostHours());
        assertEquals(24, PriorityClass.of("HIGH").boostHours(), "a built-in one changed; names are case-insensitive");
        var e = assertThrows(ValidationException.class, () -> PriorityClass.of("vip"));
        assertEquals("priority_class must be one of high, urgent, normal, preemptible, not 'vip'", e.getMessage());
        assertEquals(new PriorityClass("gone", 0, 1, false, false, 0), PriorityClass.stored("gone"), "a class removed since reads as an everyday one");
        assertThrows(ValidationException.class, () -> PriorityClass.define(List.of(PriorityClass.parse("normal:admin"))));
    }

    @Test
    void aDefinedClassOrdersTheQueueByItsBoost() {
        PriorityClass.define(List.of(PriorityClass.parse("batch:boost=-6")));
        var fs = FairShare.of(FairShare.Policy.defaults(), java.util.Map.of(), java.util.Map.of(), java.util.Set.of(1L, 2L));
        var now = java.time.Instant.parse("2026-12-01T12:00:00Z");
        var batch = PreemptionTest.waiting(1, 1, "1", PriorityClass.of("batch"), 3 * 3600); // 3 h old, −6 h
        var normal = PreemptionTest.waiting(2, 1, "1", PriorityClass.NORMAL, 60);
        assertEquals(List.of(normal, batch), fs.sorted(List.of(batch, normal)));
        assertTrue(fs.priority(normal, now) > fs.priority(batch, now));
    }
}
