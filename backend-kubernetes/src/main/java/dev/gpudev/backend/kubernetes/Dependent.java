package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.EnvironmentSpec;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One kind of object an environment is made of: what it should be ({@link #desired}), what the
 * cluster has (an informer, never a GET), and the step between them: a server-side apply (field manager
 * {@value #FIELD_MANAGER}) when what should be differs from what was last applied. The applied
 * object's hash rides on it as an annotation, so an environment already as it should be costs no
 * request at all. What was just applied is kept until the informer has it (at most
 * {@link #RECENT_FOR}): an ensure is observed at once and never applied twice.
 */
abstract class Dependent<T extends HasMetadata> {
    static final String FIELD_MANAGER = "gpudev";
    /** The hash of what the platform last applied to the object. */
    static final String APPLIED = "gpudev.dev/applied";
    static final Duration RECENT_FOR = Duration.ofSeconds(30);

    /** What one ensure works from: the spec, the root everything is owned by, the size of the node. */
    record Ensuring(EnvironmentSpec spec, OwnerReference owner, EnvironmentObjects.NodeSize node) {
    }

    private record Recent<T>(T object, long atNanos) {
    }

    protected final KubernetesClient client;
    protected final String ns;
    private final Class<T> type;
    private final Watched<T> watched;
    private final Map<String, Recent<T>> recent = new ConcurrentHashMap<>();

    Dependent(KubernetesClient client, String ns, Class<T> type, Watched<T> watched) {
        this.client = client;
        this.ns = ns;
        this.type = type;
        this.watched = watched;
    }

    /** What this kind of object should be for the environment; null when it has none of this kind. */
    abstract T desired(Ensuring e);

    /** Whether an object, once made, is left as it is (pods and claims: their specs cannot change in place). */
    boolean createOnly() {
        return false;
    }

    /** Brings the object in line with what it should be; returns it as the cluster has it (null: none). */
    T reconcile(Ensuring e) {
        T want = desired(e);
        if (want == null) {
            return null;
        }
        String hash = hash(want);
        String name = want.getMetadata().getName();
        T have = current(name);
        if (have != null && (createOnly() || hash.equals(appliedHash(have)))) {
            return have;
        }
        Map<String, String> annotations = new LinkedHashMap<>(want.getMetadata().getAnnotations() == null ? Map.of()
                : want.getMetadata().getAnnotations());
        annotations.put(APPLIED, hash);
        want.getMetadata().setAnnotations(annotations);
        T applied = client.resource(want).inNamespace(ns).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
        recent.put(name, new Recent<>(applied, System.nanoTime()));
        return applied;
    }

    /** The object as last seen: what was just applied, until the informer has that version or a later one. */
    T current(String name) {
        T known = watched.get(ns + "/" + name);
        Recent<T> mine = recent.get(name);
        if (mine == null) {
            return known;
        }
        if (known != null && !older(known, mine.object()) || expired(mine)) {
            recent.remove(name, mine);
            return known;
        }
        return mine.object();
    }

    /** Every object of the kind the platform owns, as {@link #current} sees each. */
    List<T> all() {
        List<T> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (T known : watched.list()) {
            String name = known.getMetadata().getName();
            seen.add(name);
            T now = current(name);
            if (now != null) { // deleted between the list and the lookup (the informer moves on meanwhile)
                out.add(now);
            }
        }
        recent.forEach((name, mine) -> {
            if (!seen.contains(name) && current(name) != null) {
                out.add(mine.object());
            }
        });
        return out;
    }

    /** Deletes it (absent already is fine), with this grace period in seconds when not null. */
    void delete(String name, Long graceSeconds) {
        recent.remove(name);
        var resource = client.resources(type).inNamespace(ns).withName(name);
        if (graceSeconds != null) {
            resource.withGracePeriod(graceSeconds).delete();
        } else {
            resource.delete();
        }
    }

    void forget(String name) {
        recent.remove(name);
    }

    private static boolean expired(Recent<?> r) {
        return System.nanoTime() - r.atNanos() > RECENT_FOR.toNanos();
    }

    /** Whether the informer's copy is older than the one just applied (resource versions are etcd's revisions). */
    private static boolean older(HasMetadata known, HasMetadata mine) {
        String a = known.getMetadata().getResourceVersion();
        String b = mine.getMetadata().getResourceVersion();
        if (a == null || b == null || a.equals(b)) {
            return false;
        }
        try {
            return Long.parseLong(a) < Long.parseLong(b);
        } catch (NumberFormatException e) {
            return true; // not numbers: only the same version is known to have caught up
        }
    }

    static String appliedHash(HasMetadata o) {
        return o.getMetadata().getAnnotations() == null ? null : o.getMetadata().getAnnotations().get(APPLIED);
    }

    static String hash(HasMetadata o) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Serialization.asJson(o).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
