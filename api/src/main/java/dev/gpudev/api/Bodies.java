package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;

import java.math.BigDecimal;

/** Reading JSON request bodies strictly: wrong types and unknown shapes are 400s, not 500s. */
final class Bodies {
    private Bodies() {
    }

    static JsonNode json(Context ctx) {
        String type = ctx.contentType();
        if (type != null && !type.toLowerCase().startsWith("application/json")) {
            throw new ApiError(415, "unsupported_media_type", "send the body as application/json");
        }
        String body = ctx.body();
        if (body.isBlank()) {
            return dev.gpudev.store.Json.MAPPER.createObjectNode();
        }
        try {
            JsonNode node = dev.gpudev.store.Json.MAPPER.readTree(body);
            if (node == null || !node.isObject()) {
                throw ApiError.badRequest("the body must be a JSON object");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiError.badRequest("the body is not valid JSON: " + e.getOriginalMessage());
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
        if (d.abs().compareTo(BigDecimal.valueOf(1_000_000)) > 0) {
            throw ApiError.badRequest(field + " is out of range");
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
