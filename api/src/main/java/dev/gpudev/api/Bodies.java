package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

import java.math.BigDecimal;

/** Reading JSON request bodies strictly: wrong types and unknown shapes are 400s, not 500s. */
final class Bodies {
    /** The largest request body the API reads (Jetty is told the same). */
    static final int MAX_BYTES = 64 * 1024;

    private Bodies() {
    }

    /**
     * Request bodies are read with limits, whatever the client claims: at most {@link #MAX_BYTES}
     * (chunked or not), nesting 32 deep, strings of 64 KiB, numbers of 100 digits; no NUL anywhere.
     */
    private static final com.fasterxml.jackson.databind.ObjectMapper STRICT = com.fasterxml.jackson.databind.json.JsonMapper.builder(
                    com.fasterxml.jackson.core.JsonFactory.builder().streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                            .maxNestingDepth(32).maxStringLength(65_536).maxNumberLength(100).maxNameLength(256).build()).build())
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static JsonNode json(Context ctx) {
        String type = ctx.contentType();
        if (type != null && !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new ApiError(415, "unsupported_media_type", "send the body as application/json");
        }
        byte[] body = read(ctx);
        if (new String(body, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            return STRICT.createObjectNode();
        }
        JsonNode node;
        try {
            node = STRICT.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiError.badRequest("the body is not valid JSON: " + ApiError.shown(e.getOriginalMessage()));
        } catch (java.io.IOException | RuntimeException e) {
            // A number BigDecimal cannot hold (an exponent past its range), and the like: said, never echoed.
            throw ApiError.badRequest("the body is not valid JSON: it holds a value out of range");
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest("the body must be a JSON object");
        }
        noNul(node);
        return node;
    }

    private static byte[] read(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > MAX_BYTES) {
            throw new ApiError(413, "payload_too_large", "the body is larger than " + MAX_BYTES + " bytes");
        }
        try (var in = ctx.req().getInputStream()) {
            byte[] bytes = in.readNBytes(MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) {
                throw new ApiError(413, "payload_too_large", "the body is larger than " + MAX_BYTES + " bytes");
            }
            return bytes;
        } catch (java.io.IOException e) {
            throw ApiError.badRequest("the body could not be read");
        }
    }

    private static void noNul(JsonNode node) {
        if (node.isTextual() && node.asText().indexOf('\0') >= 0) {
            throw ApiError.badRequest("strings must not contain NUL characters");
        }
        if (node.isObject()) {
            node.properties().forEach(e -> {
                if (e.getKey().indexOf('\0') >= 0) {
                    throw ApiError.badRequest("field names must not contain NUL characters");
                }
                noNul(e.getValue());
            });
        } else if (node.isArray()) {
            node.forEach(Bodies::noNul);
        }
    }

    /** Refuses fields the route does not take: a typo ("gpu_cnt") is an error, not silently ignored. */
    static JsonNode only(JsonNode body, String... fields) {
        java.util.Set<String> known = java.util.Set.of(fields);
        body.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                String shown = f.length() > 40 ? f.substring(0, 40) + "…" : f;
                throw ApiError.badRequest("unknown field '" + shown.replaceAll("[\\p{Cntrl}]", "?") + "': this endpoint takes "
                        + String.join(", ", new java.util.TreeSet<>(known)));
            }
        });
        return body;
    }

    static String string(JsonNode body, String field, boolean required, int maxLength) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw ApiError.badRequest(field + " is required");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw ApiError.badRequest(field + " must be a string");
        }
        if (v.asText().length() > maxLength) {
            throw ApiError.badRequest(field + " is too long (at most " + maxLength + " characters)");
        }
        if (v.asText().chars().anyMatch(ch -> ch < 0x20 && ch != '\t')) {
            throw ApiError.badRequest(field + " must not contain control characters");
        }
        return v.asText();
    }

    static Integer integer(JsonNode body, String field, boolean required) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw ApiError.badRequest(field + " is required");
            }
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiError.badRequest(field + " must be a whole number");
        }
        return v.intValue();
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiError.badRequest(field + " must be true or false");
        }
        return v.booleanValue();
    }

    static java.util.Map<String, String> labels(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return java.util.Map.of();
        }
        if (!v.isObject()) {
            throw ApiError.badRequest(field + " must be an object of label names to values");
        }
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        v.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw ApiError.badRequest(field + "." + (e.getKey().length() > 40 ? e.getKey().substring(0, 40) : e.getKey()) + " must be a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        });
        return out;
    }

    static BigDecimal decimal(JsonNode body, String field, boolean required) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw ApiError.badRequest(field + " is required");
            }
            return null;
        }
        if (!v.isNumber()) {
            throw ApiError.badRequest(field + " must be a number");
        }
        BigDecimal d = v.decimalValue();
        // A number of absurd precision or exponent is refused as such, never echoed (its plain text may be a gigabyte).
        if (d.scale() > 12 || d.scale() < -6 || d.precision() > 24 || d.abs().compareTo(BigDecimal.valueOf(1_000_000)) > 0) {
            throw ApiError.badRequest(field + " must be a plain number, at most 1000000, with at most 12 decimals");
        }
        return d;
    }

    /** A text query parameter: at most maxLength characters, no control characters; null when absent. */
    static String queryText(String value, String name, int maxLength) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (value.length() > maxLength) {
            throw ApiError.badRequest(name + " is too long (at most " + maxLength + " characters)");
        }
        if (value.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
            throw ApiError.badRequest(name + " must not contain control characters");
        }
        return value;
    }
}
