package dev.gpudev.backend.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Notices for an environment's users: keys of its root ConfigMap ({@code notice.<file>}), which the
 * environment's own agent writes into the home and onto terminals (the platform never touches the
 * tenant's files). Written by JSON merge patches beside the root's server-side apply (another field
 * manager's fields, so applying the root keeps them), and read from the informer: a notice costs one
 * request, one already there none.
 */
final class RootNotices {
    private final KubernetesClient client;
    private final String ns;
    private final Dependent<ConfigMap> roots;
    /** Notice keys written, per environment, until its removal: cleared even before the informer has them. */
    private final Map<String, Set<String>> written = new ConcurrentHashMap<>();

    RootNotices(KubernetesClient client, String ns, Dependent<ConfigMap> roots) {
        this.client = client;
        this.ns = ns;
        this.roots = roots;
    }

    void put(String environment, String fileName, String message) {
        String key = EnvironmentObjects.NOTICE_PREFIX + fileName;
        ConfigMap root = roots.current(environment);
        if (root != null && root.getData() != null && message.equals(root.getData().get(key))) {
            return;
        }
        if (patch(environment, Map.of(key, message))) {
            written.computeIfAbsent(environment, k -> ConcurrentHashMap.newKeySet()).add(key);
        }
    }

    void clear(String environment, String prefix) {
        String start = EnvironmentObjects.NOTICE_PREFIX + prefix;
        Set<String> keys = new TreeSet<>();
        ConfigMap root = roots.current(environment);
        if (root != null && root.getData() != null) {
            root.getData().keySet().stream().filter(k -> k.startsWith(start)).forEach(keys::add);
        }
        Set<String> mine = written.get(environment);
        if (mine != null) {
            mine.stream().filter(k -> k.startsWith(start)).forEach(keys::add);
        }
        if (keys.isEmpty()) {
            return;
        }
        Map<String, String> removed = new LinkedHashMap<>();
        keys.forEach(k -> removed.put(k, null)); // null: remove, in a merge patch
        patch(environment, removed);
        if (mine != null) {
            mine.removeAll(keys);
        }
    }

    void forget(String environment) {
        written.remove(environment);
    }

    /** False when nobody is home (no root). */
    private boolean patch(String environment, Map<String, String> data) {
        try {
            client.configMaps().inNamespace(ns).withName(environment).patch(PatchContext.of(PatchType.JSON_MERGE),
                    Serialization.asJson(Map.of("data", data)));
            return true;
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return false;
            }
            throw e;
        }
    }
}
