package dev.gpudev.core;

/**
 * Text a tenant's program wrote (a build's output, its failing step) made safe to print on a terminal or a page:
 * no control character (C0, DEL, C1: escapes, titles, the clipboard) reaches one.
 */
public final class TerminalText {
    private TerminalText() {
    }

    /** One line: every control character a space. */
    public static String line(String s) {
        return s == null ? null : s.replaceAll("[\\p{Cntrl}\\u0080-\\u009f]", " ");
    }

    /** Lines: newlines and tabs kept, every other control character dropped. */
    public static String lines(String s) {
        return s == null ? null : s.replaceAll("[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]", "");
    }
}
