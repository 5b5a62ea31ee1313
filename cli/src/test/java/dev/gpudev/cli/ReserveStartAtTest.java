package dev.gpudev.cli;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ReserveStartAtTest {
    static final Instant NOW = Instant.parse("2026-12-03T08:15:30.250Z");

    @Test
    void aStartIsATimeWithItsOffsetOrSoMuchFromNow() {
        assertEquals(Instant.parse("2026-12-04T09:00:00Z"), ReserveCommand.startAt("2026-12-04T09:00Z", NOW));
        assertEquals(Instant.parse("2026-12-04T08:00:00Z"), ReserveCommand.startAt("2026-12-04T09:00+01:00", NOW));
        assertEquals(Instant.parse("2026-12-04T09:00:00Z"), ReserveCommand.startAt("2026-12-04T09:00", NOW), "no offset: UTC");
        assertEquals(Instant.parse("2026-12-03T10:15:30Z"), ReserveCommand.startAt("+2h", NOW));
        assertEquals(Instant.parse("2026-12-03T08:45:30Z"), ReserveCommand.startAt("+30m", NOW));
        assertEquals(Instant.parse("2026-12-04T08:15:30Z"), ReserveCommand.startAt("+1d", NOW));
        var bad = assertThrows(CliException.class, () -> ReserveCommand.startAt("tomorrow", NOW));
        assertEquals(2, bad.exitCode());
    }
}
