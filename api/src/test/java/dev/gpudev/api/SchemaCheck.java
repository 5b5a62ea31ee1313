package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.store.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checks API responses against the OpenAPI document: the route and status must be documented, and
 * the body must match the schema (types, required fields, enums, items, references) — the subset of
 * JSON Schema the document uses.
 */
final class SchemaCheck {
    static final JsonNode DOC;

    static {
        try {
            DOC = Json.MAPPER.readTree(OpenApi.document());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The documented template ("/v1/jobs/{id}") that a concrete path matches. */
    static String template(String path) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        List<String> matches = new ArrayList<>();
        DOC.get("paths").fieldNames().forEachRemaining(t -> {
            String regex = "^" + Pattern.quote(t).replace("{id}", "\\E[^/]+\\Q").replace("{name}", "\\E[^/]+\\Q") + "$";
            if (p.matches(regex)) {
                matches.add(t);
            }
        });
        // A literal segment beats a parameter: /v1/jobs/submit is not /v1/jobs/{id}.
        return matches.stream().min((a, b) -> Long.compare(a.chars().filter(c -> c == '{').count(), b.chars().filter(c -> c == '{').count()))
                .orElse(null);
    }

    /** Problems found; empty when the response is as documented. */
    static List<String> check(String method, String path, int status, JsonNode body) {
        List<String> problems = new ArrayList<>();
        String t = template(path);
        if (t == null) {
            if (status != 404 && status != 405) {
                problems.add("undocumented path " + path + " answered " + status);
            }
            return problems;
        }
        JsonNode op = DOC.get("paths").get(t).get(method.toLowerCase());
        if (op == null) {
            if (status != 404 && status != 405) {
                problems.add("undocumented method " + method + " " + t + " answered " + status);
            }
            return problems;
        }
        JsonNode response = op.get("responses").get(Integer.toString(status));
        if (response == null) {
            problems.add(method + " " + t + " answered " + status + ", which the document does not list");
            return problems;
        }
        response = resolve(response);
        JsonNode schema = response.path("content").path("application/json").path("schema");
        if (!schema.isMissingNode() && body != null) {
            validate(schema, body, method + " " + t + " " + status, problems);
        }
        return problems;
    }

    /** Problems with a request body the API accepted: it must be what the document says the route takes. */
    static List<String> checkRequest(String method, String path, JsonNode body) {
        List<String> problems = new ArrayList<>();
        String t = template(path);
        if (t == null || body == null) {
            return problems;
        }
        JsonNode op = DOC.get("paths").get(t).get(method.toLowerCase());
        JsonNode schema = op == null ? null : op.path("requestBody").path("content").path("application/json").path("schema");
        if (schema == null || schema.isMissingNode()) {
            problems.add(method + " " + t + " accepted a body the document does not describe");
            return problems;
        }
        validate(schema, body, "request " + method + " " + t, problems);
        // An accepted request names only documented fields.
        JsonNode resolved = resolve(schema);
        if (body.isObject() && resolved.has("properties")) {
            body.fieldNames().forEachRemaining(f -> {
                if (!resolved.get("properties").has(f)) {
                    problems.add("request " + method + " " + t + " used the undocumented field " + f);
                }
            });
        }
        return problems;
    }

    private static JsonNode resolve(JsonNode node) {
        while (node.has("$ref")) {
            String[] parts = node.get("$ref").asText().substring(2).split("/");
            JsonNode n = DOC;
            for (String part : parts) {
                n = n.get(part);
            }
            node = n;
        }
        return node;
    }

    static void validate(JsonNode schema, JsonNode value, String at, List<String> problems) {
        schema = resolve(schema);
        if (schema.has("oneOf")) {
            List<String> best = null;
            for (JsonNode alternative : schema.get("oneOf")) {
                List<String> p = new ArrayList<>();
                validate(alternative, value, at, p);
                if (p.isEmpty()) {
                    return;
                }
                best = best == null || p.size() < best.size() ? p : best;
            }
            problems.addAll(best == null ? List.of(at + ": no alternative") : best);
            return;
        }
        if (schema.has("type")) {
            List<String> types = new ArrayList<>();
            if (schema.get("type").isArray()) {
                schema.get("type").forEach(x -> types.add(x.asText()));
            } else {
                types.add(schema.get("type").asText());
            }
            if (types.stream().noneMatch(ty -> matches(ty, value))) {
                problems.add(at + ": expected " + types + " but got " + value.getNodeType());
                return;
            }
        }
        if (schema.has("enum") && value.isTextual()) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) {
                found |= e.asText().equals(value.asText());
            }
            if (!found) {
                problems.add(at + ": " + value + " is not one of " + schema.get("enum"));
            }
        }
        if (value.isObject()) {
            for (JsonNode r : schema.path("required")) {
                if (!value.has(r.asText())) {
                    problems.add(at + ": missing required " + r.asText());
                }
            }
            schema.path("properties").fields().forEachRemaining(e -> {
                if (value.has(e.getKey())) {
                    validate(e.getValue(), value.get(e.getKey()), at + "." + e.getKey(), problems);
                }
            });
        }
        if (value.isArray() && schema.has("items")) {
            int i = 0;
            for (JsonNode item : value) {
                validate(schema.get("items"), item, at + "[" + i++ + "]", problems);
            }
        }
    }

    private static boolean matches(String type, JsonNode v) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> true;
        };
    }
}
