package dev.gpudev.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReservationRequestTest {
    static final GpuCatalog CATALOG = GpuCatalog.standard();

    static ReservationRequest req(String type, int gpus, String hours, String name) {
        return new ReservationRequest(type, gpus, hours == null ? null : new BigDecimal(hours), name);
    }

    @Test
    void aGpuTypeTheClusterHasIsKnownThoughTheCatalogNeverHeardOfIt() {
        assertThrows(ValidationException.class, () -> req("l40s", 4, "1", null).validate(CATALOG));
        var cluster = new Capacity(java.util.List.of(new Capacity.Node("n1", "l40s", java.util.List.of(0, 1, 2, 3), false)));
        GpuCatalog withIt = CATALOG.including(cluster);
        assertDoesNotThrow(() -> req("l40s", 4, "1", null).validate(withIt));
        assertTrue(withIt.find("l40s").orElseThrow().gpusPerNode() == 4, "the GPUs of its largest node");
        assertTrue(CATALOG.including(new Capacity(java.util.List.of())) == CATALOG, "nothing new, nothing made");
    }

    @Test
    void aGpuTypeIsFoundWhateverItsCaseAndAnUnknownOneNamesTheTypesThisClusterHas() {
        assertEquals("h100", req("H100", 1, "1", null).validate(CATALOG).gpuType(), "stored by the catalog's name");
        var e = assertThrows(ValidationException.class, () -> req("h1000", 1, "1", null).validate(CATALOG, java.util.List.of("a100", "h100")));
        assertEquals("unknown gpu_type 'h1000': this cluster has a100, h100", e.getMessage());
    }

    @Test
    void everyDurationOutOfRangeGetsTheSameMessageHoweverItIsWritten() {
        for (String h : new String[]{"25", "1e9", "100000000000", "0.01", "-3"}) {
            var e = assertThrows(ValidationException.class, () -> req("h100", 1, h, null).validate(CATALOG), h);
            assertTrue(e.getMessage().endsWith("is out of range: reserve from 5 minutes (0.0833) to 24 hours"), e.getMessage());
        }
        var decimals = assertThrows(ValidationException.class, () -> req("h100", 1, "1.12345678", null).validate(CATALOG));
        assertEquals("duration_hours 1.12345678 has too many decimals: use at most 6", decimals.getMessage());
        assertDoesNotThrow(() -> req("h100", 1, "0.0833", null).validate(CATALOG));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 8})
    void powersOfTwoUpToANodeAreAccepted(int gpus) {
        assertDoesNotThrow(() -> req("h100", gpus, "1", null).validate(CATALOG));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 5, 6, 7, -1})
    void otherCountsAreRefusedSayingWhatIsPossible(int gpus) {
        var e = assertThrows(ValidationException.class, () -> req("h100", gpus, "1", null).validate(CATALOG));
        assertTrue(e.getMessage().contains("1, 2, 4 or 8"), e.getMessage());
    }

    @Test
    void anyCountOfAPowerOfTwoIsWellFormedAndDistributedTakesOthersTooTheNodesDecide() {
        assertDoesNotThrow(() -> req("h100", 16, "1", null).validate(CATALOG));
        assertDoesNotThrow(() -> new ReservationRequest("h100", 24, new BigDecimal(1), null, true).validate(CATALOG));
        var odd = assertThrows(ValidationException.class, () -> req("h100", 12, "1", null).validate(CATALOG));
        assertTrue(odd.getMessage().contains("--distributed"), odd.getMessage());
        assertThrows(ValidationException.class, () -> new ReservationRequest("h100", 1024, new BigDecimal(1), null, true).validate(CATALOG));
    }

    @Test
    void durationFromFiveMinutesToADayKeptFractional() {
        assertDoesNotThrow(() -> req("h100", 1, "0.0833", null).validate(CATALOG));
        assertDoesNotThrow(() -> req("h100", 1, "24", null).validate(CATALOG));
        assertDoesNotThrow(() -> req("h100", 1, "1.25", null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("h100", 1, "0.08", null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("h100", 1, "24.01", null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("h100", 1, "-1", null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("h100", 1, null, null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("h100", 1, "1.0000001", null).validate(CATALOG));
    }

    @Test
    void unknownTypesAreRefusedListingTheKnownOnes() {
        var e = assertThrows(ValidationException.class, () -> req("h999", 1, "1", null).validate(CATALOG));
        assertTrue(e.getMessage().contains("h100"), e.getMessage());
        assertThrows(ValidationException.class, () -> req(null, 1, "1", null).validate(CATALOG));
    }

    @Test
    void namesFollowTheOneGrammarOfNames() {
        assertDoesNotThrow(() -> req("h100", 1, "1", "my-env-1").validate(CATALOG));
        assertDoesNotThrow(() -> req("h100", 1, "1", "a_b.c-d").validate(CATALOG));
        assertDoesNotThrow(() -> req("h100", 1, "1", "a".repeat(63)).validate(CATALOG));
        for (String bad : new String[] {"", "-a", ".a", "..", "_a", "A", "a/b", "a".repeat(64), "a b", "ä", "a\u0000"}) {
            assertThrows(ValidationException.class, () -> req("h100", 1, "1", bad).validate(CATALOG), bad);
        }
    }

    @Test
    void cpuTypesTakeNoGpus() {
        assertDoesNotThrow(() -> req("cpu-x86", 0, "1", null).validate(CATALOG));
        assertThrows(ValidationException.class, () -> req("cpu-x86", 1, "1", null).validate(CATALOG));
    }
}
