package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.store.MutableClock;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the Kubernetes backend asks of the API server once environments are as they should be: nothing.
 * Every request the backend's client sends is counted (watches aside: they stay open); 500 live
 * environments ensured again, observed, and their capacity and activity read, as the processor does
 * every minute, cost none.
 */
class KubernetesBackendSteadyStateTest {
    static final String NS = "gpu-dev";
    static final int ENVIRONMENTS = 500;

    /** The backend's requests, as "METHOD path". */
    static final class Requests implements Interceptor {
        final List<String> seen = new ArrayList<>();

        @Override
        public synchronized void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
            String query = request.uri().getQuery();
            if (query == null || !query.contains("watch=true")) {
                seen.add(request.method() + " " + request.uri().getPath());
            }
        }

        synchronized List<String> take() {
            List<String> out = List.copyOf(seen);
            seen.clear();
            return out;
        }
    }

    @TempDir
    Path disks;
    SimulatedCluster cluster;
    KubernetesBackend backend;
    final Requests requests = new Requests();
    final MutableClock clock = new MutableClock(Instant.now());

    @BeforeEach
    void start() {
        cluster = SimulatedCluster.start(disks);
        cluster.addNode("gpu-big", "h100", ENVIRONMENTS + 12);
        KubernetesClient counted = new KubernetesClientBuilder().withConfig(cluster.client.getConfiguration())
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("count", requests)).build();
        backend = new KubernetesBackend(counted, KubernetesSettings.defaults(), clock);
    }

    @AfterEach
    void stop() {
        backend.close();
        cluster.close();
    }

    /** A mix: every fifth with a home of its own (a claim), every seventh with Jupyter. */
    static EnvironmentSpec spec(int i, List<String> keys) {
        String name = "gpudev-steady-" + i;
        EnvironmentSpec.Home home = i % 5 == 0 ? new EnvironmentSpec.Home.Own() : new EnvironmentSpec.Home.Scratch();
        EnvironmentSpec.Jupyter jupyter = i % 7 == 0 ? new EnvironmentSpec.Jupyter(8888, "token-" + i) : null;
        return new EnvironmentSpec(UUID.nameUUIDFromBytes(name.getBytes()), name, 0, new EnvironmentSpec.Owner(7, "alice"), "gpu-big", 1,
                keys, jupyter, home, null, null);
    }

    @Test
    void liveEnvironmentsAsTheyShouldBeCostNoRequestAtAll() throws Exception {
        List<String> keys = List.of(KubernetesBackendTest.KEY);
        List<EnvironmentSpec> specs = new ArrayList<>();
        for (int i = 0; i < ENVIRONMENTS; i++) {
            specs.add(spec(i, keys));
        }
        for (EnvironmentSpec s : specs) {
            backend.ensure(s);
        }
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (backend.observe().values().stream().filter(o -> o.phase() instanceof Observed.Phase.Ready).count() < ENVIRONMENTS) {
            if (Instant.now().isAfter(deadline)) {
                fail("not all ready: " + backend.observe().values().stream().filter(o -> !(o.phase() instanceof Observed.Phase.Ready)).limit(3).toList());
            }
            Thread.sleep(100);
        }
        int made = requests.take().size();
        assertTrue(made >= 4 * ENVIRONMENTS, "each was made (root, keys, service, pod): " + made);

        // A minute of steady state, as the processor lives it: each live environment ensured again, all observed.
        clock.advance(Duration.ofMinutes(1));
        for (EnvironmentSpec s : specs) {
            backend.ensure(s);
        }
        assertEquals(ENVIRONMENTS, backend.observe().size());
        backend.activity();
        assertNotNull(backend.capacity());
        assertEquals(List.of(), requests.take(), "requests for " + ENVIRONMENTS + " environments as they should be");

        // What changes costs its own object's apply, and nothing else.
        EnvironmentSpec changed = spec(1, List.of(KubernetesBackendTest.KEY, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb second@t"));
        backend.ensure(changed);
        assertEquals(List.of("PATCH /api/v1/namespaces/" + NS + "/secrets/" + EnvironmentObjects.keysSecret(changed.name())), requests.take());
        backend.ensure(changed);
        assertEquals(List.of(), requests.take(), "applied once");

        // A Secret deleted behind the backend's back is made again by the next ensure once the informer has seen it go.
        String secret = EnvironmentObjects.keysSecret(specs.get(2).name());
        cluster.client.secrets().inNamespace(NS).withName(secret).delete();
        deadline = Instant.now().plusSeconds(30);
        while (cluster.client.secrets().inNamespace(NS).withName(secret).get() == null) {
            if (Instant.now().isAfter(deadline)) {
                fail("the deleted Secret never came back");
            }
            backend.ensure(specs.get(2));
            Thread.sleep(50);
        }
    }
}
