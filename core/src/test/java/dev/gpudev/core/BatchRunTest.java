package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchRunTest {
    @Test
    void wordsAreQuotedSoThatAShellReadsThemBackExactly() throws Exception {
        var run = new BatchRun(List.of("python", "train.py", "--name", "it's mine", "$HOME", "a\nb", ""), null, false);
        assertEquals("python train.py --name 'it'\\''s mine' '$HOME' 'a\nb' ''", run.shellLine());
        Process p = new ProcessBuilder("bash", "-c", "eval \"set -- $1\"; printf '[%s]' \"$@\"", "x", run.shellLine()).start();
        assertEquals("[python][train.py][--name][it's mine][$HOME][a\nb][]", new String(p.getInputStream().readAllBytes()));
        assertEquals(30, run.brief(30).length());
        assertTrue(run.brief(30).endsWith("…"));
    }

    @Test
    void aBadRunSaysWhatToChange() {
        assertTrue(assertThrows(ValidationException.class, () -> new BatchRun(List.of(), null, false)).getMessage().contains("a command is needed"));
        assertTrue(assertThrows(ValidationException.class, () -> new BatchRun(List.of(" "), null, false)).getMessage().contains("first word is empty"));
        assertTrue(assertThrows(ValidationException.class, () -> new BatchRun(List.of("a\0b"), null, false)).getMessage().contains("NUL"));
        assertTrue(assertThrows(ValidationException.class, () -> new BatchRun(java.util.Collections.nCopies(257, "x"), null, false))
                .getMessage().contains("at most 256 words"));
        for (String bad : List.of("..", "a/b", ".hidden", "-x", "a..b", "x".repeat(101))) {
            assertThrows(ValidationException.class, () -> new BatchRun(List.of("x"), bad, false), bad);
        }
        assertEquals("my_proj-2.0", new BatchRun(List.of("x"), "my_proj-2.0", false).workdir());
    }

    @Test
    void anOutcomeInWords() {
        assertEquals("exited 0", new BatchRun.Outcome(0, null).words());
        assertEquals("failed (exit 137)", new BatchRun.Outcome(137, null).words());
        var failed = Transition.runEnded(new BatchRun.Outcome(2, java.time.Instant.EPOCH), "tail");
        assertEquals(ReservationStatus.FAILED, failed.to());
        assertEquals("the command failed (exit 2)", failed.reason());
        assertEquals(ReservationStatus.EXPIRED, Transition.runEnded(new BatchRun.Outcome(0, java.time.Instant.EPOCH), "").to());
    }
}
