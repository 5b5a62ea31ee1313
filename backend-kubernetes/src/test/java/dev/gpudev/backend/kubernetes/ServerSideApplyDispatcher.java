package dev.gpudev.backend.kubernetes;

import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * fabric8's mock API server in CRUD mode, taught server-side apply (it answers 415 to an
 * {@code application/apply-patch+yaml} PATCH), and JSON merge patches as RFC 7386 says (the mock keeps
 * a null rather than removing the key, and merges lists). An apply creates the object when it is
 * absent; otherwise it is a merge patch of the applied configuration in which every field the last
 * apply of the same object set and this one does not is removed, which is what the API server does for
 * a single field manager that owns what it applies (fields others set, such as a Service's cluster IP or
 * notices patched into a ConfigMap, are kept). Lists are replaced whole, as the API server does for
 * lists without merge keys; the backend applies whole lists (ports, containers) it owns.
 */
final class ServerSideApplyDispatcher extends KubernetesMixedDispatcher {
    private final Map<String, Map<String, Object>> lastApplied = new ConcurrentHashMap<>();

    ServerSideApplyDispatcher(Map<ServerRequest, Queue<ServerResponse>> responses) {
        super(responses);
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String type = request.getHeader("Content-Type");
        boolean apply = type != null && type.contains("apply-patch");
        boolean merge = type != null && type.contains("merge-patch");
        if (!"PATCH".equals(request.getMethod()) || !apply && !merge) {
            return super.dispatch(request);
        }
        String path = request.getPath();
        String plain = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        Map<String, Object> body = map(request.getUtf8Body());
        MockResponse existing = super.dispatch(new RecordedRequest("HTTP/1.1", HttpMethod.GET, plain, headers(), new Buffer()));
        MockResponse answer;
        if (existing.code() == 404 && apply) {
            String collection = plain.substring(0, plain.lastIndexOf('/'));
            answer = super.dispatch(new RecordedRequest("HTTP/1.1", HttpMethod.POST, collection, headers("application/json"),
                    body(Serialization.asJson(body))));
        } else if (existing.code() / 100 != 2) {
            return existing;
        } else {
            Map<String, Object> patch = apply ? withRemovals(body, lastApplied.getOrDefault(plain, Map.of())) : body;
            Object merged = merged(map(new String(existing.getBody().getBytes(), StandardCharsets.UTF_8)), patch);
            answer = super.dispatch(new RecordedRequest("HTTP/1.1", HttpMethod.PUT, plain, headers("application/json"),
                    body(Serialization.asJson(merged))));
        }
        if (apply && answer.code() / 100 == 2) {
            lastApplied.put(plain, body);
        }
        return answer;
    }

    /** RFC 7386: objects merge key by key, null removes, anything else (a list too) replaces. */
    @SuppressWarnings("unchecked")
    static Object merged(Object target, Object patch) {
        if (!(patch instanceof Map<?, ?> p)) {
            return patch;
        }
        Map<String, Object> out = target instanceof Map<?, ?> t ? new LinkedHashMap<>((Map<String, Object>) t) : new LinkedHashMap<>();
        ((Map<String, Object>) p).forEach((k, v) -> {
            if (v == null) {
                out.remove(k);
            } else {
                out.put(k, merged(out.get(k), v));
            }
        });
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(String json) {
        return Serialization.unmarshal(json, Map.class);
    }

    /** The applied configuration, with null (remove) for what the previous one set and this one does not. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> withRemovals(Map<String, Object> now, Map<String, Object> before) {
        Map<String, Object> out = new LinkedHashMap<>(now);
        before.forEach((k, was) -> {
            Object is = now.get(k);
            if (is == null) {
                out.put(k, null);
            } else if (is instanceof Map<?, ?> m && was instanceof Map<?, ?> w) {
                out.put(k, withRemovals((Map<String, Object>) m, (Map<String, Object>) w));
            }
        });
        return out;
    }

    private static Headers headers(String... contentType) {
        var b = Headers.builder();
        for (String t : contentType) {
            b.add("Content-Type", t);
        }
        return b.build();
    }

    private static Buffer body(String json) {
        return new Buffer(json.getBytes(StandardCharsets.UTF_8));
    }
}
