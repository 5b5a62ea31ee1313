package dev.gpudev.api;

/** Path and query parameters, read strictly: a bad one is a 4xx that names it. */
final class Params {
    private Params() {
    }

    /** A numeric id from the path: anything else is "no such thing" (404), not a 500. */
    static long id(String s, String what) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw ApiError.notFound("no " + what + " '" + ApiError.shown(s) + "'");
        }
    }

    static int boundedInt(String raw, int dflt, int min, int max, String name) {
        if (raw == null || raw.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(raw.trim());
            if (v < min || v > max) {
                throw ApiError.badRequest(name + " must be " + min + "-" + max);
            }
            return v;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be a whole number (" + min + "-" + max + ")");
        }
    }
}
