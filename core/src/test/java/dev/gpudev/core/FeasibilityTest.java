package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FeasibilityTest {
    static final Capacity CLUSTER = new Capacity(List.of(node("h0", "h100", 8), node("h1", "h100", 8), node("a0", "a100", 4),
            new Capacity.Node("e0", "h100", gpus(8), true, Map.of("network", "efa"))));

    static Capacity.Node node(String name, String type, int gpus) {
        return new Capacity.Node(name, type, gpus(gpus), true);
    }

    static List<Integer> gpus(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    static Feasibility.Verdict of(String type, int count, boolean distributed) {
        return Feasibility.of(type, count, distributed, Map.of(), CLUSTER, Scheduler.Limits.none());
    }

    static String never(Feasibility.Verdict v) {
        return assertInstanceOf(Feasibility.Verdict.Never.class, v).message();
    }

    @Test
    void messagesUseTheRealNodeSizesNotTheCatalogs() {
        String m = never(of("a100", 8, false));
        assertTrue(m.contains("the largest has 4") && m.contains("at most 4"), m);
        assertTrue(!m.contains("8 (the GPUs"), m);
    }

    @Test
    void oneWholeNodeMayBeDistributedAndOtherSizesAreRefusedWithTheReason() {
        assertEquals(new Feasibility.Verdict.Fits(1, 8, true), of("h100", 8, true));
        assertEquals(new Feasibility.Verdict.Fits(3, 8, true), of("h100", 24, true));
        String m = never(of("h100", 12, true));
        assertTrue(m.contains("multiple of 8 up to 24"), m);
        assertTrue(never(of("h100", 32, true)).contains("there are 3"));
        assertEquals(new Feasibility.Verdict.Fits(1, 4, false), of("h100", 4, false));
    }

    @Test
    void aTypeWithoutNodesAndLabelsNoNodeHasSaySo() {
        assertTrue(never(of("b200", 1, false)).contains("no b200 GPUs"));
        String m = never(Feasibility.of("h100", 1, false, Map.of("zone", "mars"), CLUSTER, Scheduler.Limits.none()));
        assertTrue(m.contains("zone=mars"), m);
        assertInstanceOf(Feasibility.Verdict.Fits.class, Feasibility.of("h100", 8, false, Map.of("network", "efa"), CLUSTER,
                Scheduler.Limits.none()));
    }

    @Test
    void moreThanAUsersLimitNeverFits() {
        var v = Feasibility.of("h100", 8, false, Map.of(), CLUSTER, new Scheduler.Limits(4, Map.of()));
        assertEquals(Feasibility.Reason.USER_GPU_LIMIT, assertInstanceOf(Feasibility.Verdict.Never.class, v).reason());
        var perType = Feasibility.of("h100", 4, false, Map.of(), CLUSTER, new Scheduler.Limits(0, Map.of("h100", 2)));
        assertTrue(never(perType).contains("at most 2 h100"));
    }

    @Test
    void theAutomaticLimitIsHalfOfATypeAndAlwaysAWholeNodeButAllOfItOnOneOrTwoNodes() {
        // h100: three nodes of 8 (24): half is 12; a100: one node of 4: all of it
        var auto = Scheduler.Limits.auto().resolvedFor(CLUSTER);
        assertEquals(Map.of("h100", 12, "a100", 4), auto.maxGpusPerUserPerType());
        assertTrue(never(Feasibility.of("h100", 16, true, Map.of(), CLUSTER, Scheduler.Limits.auto())).contains("at most 12 h100"));
        assertInstanceOf(Feasibility.Verdict.Fits.class, Feasibility.of("a100", 4, false, Map.of(), CLUSTER, Scheduler.Limits.auto()));
        var two = new Capacity(List.of(node("h0", "h100", 8), node("h1", "h100", 8)));
        assertInstanceOf(Feasibility.Verdict.Fits.class, Feasibility.of("h100", 16, true, Map.of(), two, Scheduler.Limits.auto()),
                "on two machines a job across both can run");
        var many = new Capacity(List.of(node("h0", "h100", 8), node("h1", "h100", 8), node("h2", "h100", 8), node("h3", "h100", 2)));
        assertEquals(13, Scheduler.Limits.auto().resolvedFor(many).maxGpusPerUserPerType().get("h100"));
        var small = new Capacity(List.of(node("h0", "h100", 8), node("h1", "h100", 1), node("h2", "h100", 1)));
        assertEquals(8, Scheduler.Limits.auto().resolvedFor(small).maxGpusPerUserPerType().get("h100"), "always one whole node");
        var set = new Scheduler.Limits(Scheduler.Limits.AUTO, Map.of("h100", 2)).resolvedFor(CLUSTER);
        assertEquals(2, set.maxGpusPerUserPerType().get("h100"), "what the admin set stays");
    }

    @Test
    void waitingLimitsCountReservationsAndGpuHours() {
        var limits = QueueLimits.defaults();
        assertEquals(28 * 24, limits.gpuHoursFor(CLUSTER), "a day of every GPU");
        assertNull(limits.refusal(9, java.math.BigDecimal.TEN, 1, java.math.BigDecimal.ONE, CLUSTER));
        assertTrue(limits.refusal(10, java.math.BigDecimal.TEN, 1, java.math.BigDecimal.ONE, CLUSTER).contains("10 reservations waiting"));
        assertTrue(limits.refusal(1, new java.math.BigDecimal("665"), 8, java.math.BigDecimal.ONE, CLUSTER).contains("at most 672"));
        assertNull(limits.refusal(1, new java.math.BigDecimal("664"), 8, java.math.BigDecimal.ONE, CLUSTER), "exactly at the limit is fine");
        assertNull(QueueLimits.none().refusal(1000, new java.math.BigDecimal("1e9"), 8, java.math.BigDecimal.TEN, CLUSTER));
    }
}
