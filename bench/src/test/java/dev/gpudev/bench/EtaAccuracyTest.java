package dev.gpudev.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ETA replay on a short trace. When nothing unforeseen happens (no early release, no extension, no
 * one giving up), every first estimate is exactly when the reservation starts: plans count the grace
 * minute, choose the node their admission will choose, and keep an older reservation's node when a
 * younger one's start changes which node fits best.
 */
class EtaAccuracyTest {
    @Test
    void withoutSurprisesEveryFirstEstimateIsExact() {
        EtaAccuracy.Report r = EtaAccuracy.replay(EtaAccuracy.trace(400, 7, false));
        assertTrue(r.waited() > 200, "most of them waited: " + r);
        assertEquals(0, r.early() + r.late(), "every first estimate exact:\n" + r);
        assertEquals(0.0, r.worst(), r.toString());
    }

    @Test
    void surprisesMakeEstimatesWrongBothWaysAndTheReplayMeasuresIt() {
        EtaAccuracy.Report r = EtaAccuracy.replay(EtaAccuracy.trace(120, 7, true));
        assertTrue(r.cancelledWaiting() > 0 && r.waited() > 50, r.toString());
        assertTrue(r.early() > 0 && r.late() > 0, "extensions delay, early releases hasten: " + r);
        assertTrue(r.p50() <= r.p90() && r.p90() <= r.worst(), r.toString());
    }
}
