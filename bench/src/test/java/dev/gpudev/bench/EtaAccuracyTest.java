package dev.gpudev.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ETA replay on a short trace. First come, first served, when nothing unforeseen happens (no early
 * release, no extension, no one giving up), every first estimate is exactly when the reservation
 * starts: plans count the grace minute, choose the node their admission will choose, and keep an
 * older reservation's node when a younger one's start changes which node fits best. Under fair share,
 * a newcomer with a better claim is the one surprise left.
 */
class EtaAccuracyTest {
    @Test
    void withoutSurprisesEveryFirstEstimateIsExact() {
        EtaAccuracy.Report r = EtaAccuracy.replay(EtaAccuracy.trace(400, 7, false), dev.gpudev.core.FairShare.Policy.off());
        assertTrue(r.waited() > 200, "most of them waited: " + r);
        assertEquals(0, r.early() + r.late(), "every first estimate exact:\n" + r);
        assertEquals(0.0, r.worst(), r.toString());
    }

    @Test
    void surprisesMakeEstimatesWrongBothWaysAndTheReplayMeasuresIt() {
        EtaAccuracy.Report r = EtaAccuracy.replay(EtaAccuracy.trace(120, 7, true), dev.gpudev.core.FairShare.Policy.defaults());
        assertTrue(r.cancelledWaiting() > 0 && r.waited() > 50, r.toString());
        assertTrue(r.early() > 0 && r.late() > 0, "extensions delay, early releases hasten: " + r);
        assertTrue(r.p50() <= r.p90() && r.p90() <= r.worst(), r.toString());
    }

    @Test
    void underFairShareOnlyNewcomersWithABetterClaimMoveAnEstimate() {
        EtaAccuracy.Report fifo = EtaAccuracy.replay(EtaAccuracy.trace(150, 7, false, true), true, dev.gpudev.core.FairShare.Policy.off());
        assertEquals(0, fifo.early() + fifo.late(), "first come, first served: exact\n" + fifo);
        EtaAccuracy.Report fair = EtaAccuracy.replay(EtaAccuracy.trace(150, 7, false, true), true, dev.gpudev.core.FairShare.Policy.defaults());
        assertTrue(fair.early() > 0, "light users' newcomers went ahead of heavy users' reservations: " + fair);
        assertTrue(fair.p50() < 0.5, "most estimates still hold: " + fair);
    }
}
