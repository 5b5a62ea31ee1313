package dev.gpudev.processor;

import dev.gpudev.store.UsageSamples;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The dashboard's chart: a sample a minute of GPUs in use and asked for, written once per minute whatever the cycles. */
class UsageSamplerTest extends ProcessorFixture {

    List<UsageSamples.Sample> samples() {
        return db.query(c -> new UsageSamples().since(c, clock.instant().minus(Duration.ofDays(30))));
    }

    @Test
    void oneSampleAMinuteOfGpusInUseAndAskedForPerType() {
        submit(8, "2"); // fills the node
        var waits = submit(4, "1");
        processor().cycle();
        assertEquals(dev.gpudev.core.ReservationStatus.QUEUED, get(waits).status());
        processor().cycle(); // same minute: nothing more
        List<UsageSamples.Sample> first = samples();
        assertEquals(1, first.size(), first.toString());
        UsageSamples.Sample s = first.getFirst();
        assertEquals(clock.instant().truncatedTo(ChronoUnit.MINUTES), s.at());
        assertEquals("h100", s.gpuType());
        assertEquals(capacity().totalGpus("h100"), s.totalGpus());
        assertEquals(8, s.inUse());
        assertEquals(1, s.queued(), s.toString());
        assertEquals(4, s.queuedGpus());

        clock.advance(Duration.ofMinutes(1));
        processor().cycle();
        assertEquals(2, samples().size(), "the next minute's sample");
    }

    @Test
    void samplesOlderThanEightDaysAreDropped() {
        processor().cycle();
        clock.advance(Duration.ofDays(8).plusMinutes(1));
        processor().cycle();
        assertEquals(1, samples().size(), "only the new one is kept: " + samples());
    }
}
