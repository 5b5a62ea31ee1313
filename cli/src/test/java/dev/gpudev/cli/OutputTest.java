package dev.gpudev.cli;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Times in tables: as short as they stay clear, and an end that passed reads "ending". */
class OutputTest {
    static final Instant NOW = Instant.parse("2026-12-02T10:15:00Z"); // a Wednesday

    @Test
    void aTimeOfTodayHasNoDateOneOfThisWeekItsDayAndOthersTheirDate() {
        assertEquals("14:03Z", Output.brief("2026-12-02T14:03:27.123Z", NOW));
        assertEquals("Thu 09:00Z", Output.brief("2026-12-03T09:00:00Z", NOW));
        assertEquals("Mon 23:59Z", Output.brief("2026-11-30T23:59:00Z", NOW));
        assertEquals("2026-12-24 18:00Z", Output.brief("2026-12-24T18:00:00Z", NOW));
        assertEquals("unknown", Output.brief("unknown", NOW));
    }

    @Test
    void anEndInThePastIsEnding() {
        assertEquals("ending", Output.until("2026-12-02T10:14:30Z", NOW), "the grace minute");
        assertEquals("11:00Z", Output.until("2026-12-02T11:00:00Z", NOW));
    }

    @Test
    void reasonsInATableAreShort() {
        for (String code : new String[]{"WAITING_FOR_CAPACITY", "USER_GPU_LIMIT", "WAITING_FOR_DISK", "BOOKED", "NO_CAPACITY_OF_TYPE"}) {
            assertEquals(true, ClusterCommands.Queue.shortReason(code).length() <= 18, code);
        }
    }
}
