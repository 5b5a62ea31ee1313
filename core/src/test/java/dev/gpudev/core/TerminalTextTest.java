package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TerminalTextTest {
    @Test
    void noEscapeOrC1CodeReachesATerminalAndLinesKeepTheirBreaks() {
        String hostile = "STEP 2/2: RUN x\u001b]0;owned\u0007\u009d8;;http://x\u009c\tend";
        assertEquals("STEP 2/2: RUN x ]0;owned  8;;http://x  end", TerminalText.line(hostile));
        assertEquals("ok\n\tnext[31mred\n", TerminalText.lines("ok\n\tnext\u001b[31mred\u007f\n"));
    }
}
