package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's JSON without an ObjectMapper: what it reads and writes must be what the API and the files hold. */
class JsonTest {
    @Test
    void readsEveryKindOfValueIntoATree() throws IOException {
        JsonNode n = Json.parse("{\"s\":\"x\\u00e9\",\"i\":7,\"l\":12345678901,\"big\":123456789012345678901234567890,"
                + "\"d\":0.5,\"t\":true,\"f\":false,\"z\":null,\"a\":[1,[2],{\"k\":\"v\"}],\"o\":{}}");
        assertEquals("xé", n.get("s").asText());
        assertEquals(7, n.get("i").intValue());
        assertEquals(12345678901L, n.get("l").longValue());
        assertEquals("123456789012345678901234567890", n.get("big").bigIntegerValue().toString());
        assertEquals(0.5, n.get("d").doubleValue());
        assertTrue(n.get("t").booleanValue() && !n.get("f").booleanValue() && n.get("z").isNull());
        assertEquals("v", n.get("a").get(2).get("k").asText());
        assertEquals(2, n.get("a").get(1).get(0).intValue());
        assertTrue(n.get("o").isObject() && n.get("o").isEmpty());
    }

    @Test
    void refusesWhatIsNotOneJsonValue() {
        assertThrows(IOException.class, () -> Json.parse(""));
        assertThrows(IOException.class, () -> Json.parse("{\"a\":1} {}"));
        assertThrows(IOException.class, () -> Json.parse("{\"a\":"));
        assertThrows(IOException.class, () -> Json.parse("<html>"));
    }

    @Test
    void writesMapsListsNumbersAndTreesAndReadsThemBack() throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("gpu_type", "h100");
        body.put("gpu_count", 2);
        body.put("duration_hours", new BigDecimal("0.25"));
        body.put("labels", Map.of("zone", "a\"b"));
        body.put("ports", List.of(8888, 6006));
        body.put("none", null);
        body.put("tree", Json.parse("{\"x\":[true,1.5]}"));
        String text = Json.write(body);
        assertEquals("{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":0.25,\"labels\":{\"zone\":\"a\\\"b\"},"
                + "\"ports\":[8888,6006],\"none\":null,\"tree\":{\"x\":[true,1.5]}}", text);
        assertEquals(text, Json.compact(Json.parse(text)));
        String pretty = Json.pretty(Json.parse(text));
        assertTrue(pretty.startsWith("{\n  \"gpu_type\" : \"h100\",\n"), pretty);
        assertEquals(text, Json.compact(Json.parse(pretty)));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of("x", new Object())));
    }
}
