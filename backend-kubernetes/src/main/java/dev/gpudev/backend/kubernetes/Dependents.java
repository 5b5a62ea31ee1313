package dev.gpudev.backend.kubernetes;

import dev.gpudev.backend.spi.EnvironmentSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The kinds an environment is made of, each its own {@link Dependent}; what each should be is
 * {@link EnvironmentObjects}' (render prints the same). Ensured in this order: the root first (the
 * others are owned by it), the pod last (it mounts the rest).
 */
final class Dependents {
    private Dependents() {
    }

    /** The root ConfigMap: owner of the rest, what the environment's agent follows; notices are patched in beside (see {@link RootNotices}). */
    static final class Root extends Dependent<ConfigMap> {
        Root(KubernetesClient client, String ns, Watched<ConfigMap> watched) {
            super(client, ns, ConfigMap.class, watched);
        }

        @Override
        ConfigMap desired(Ensuring e) {
            ConfigMap root = EnvironmentObjects.root(e.spec(), ns);
            if (e.spec().home() instanceof EnvironmentSpec.Home.Disk d) {
                root.getData().put("disk", Long.toString(d.disk().id()));
            }
            return root;
        }
    }

    /** The authorized keys and Jupyter's token, as data (a key dropped from stringData would stay in data). */
    static final class Keys extends Dependent<Secret> {
        Keys(KubernetesClient client, String ns, Watched<Secret> watched) {
            super(client, ns, Secret.class, watched);
        }

        @Override
        Secret desired(Ensuring e) {
            Secret s = EnvironmentObjects.keys(e.spec(), ns, e.owner());
            Map<String, String> data = new LinkedHashMap<>();
            s.getStringData().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
            s.setData(data);
            s.setStringData(null);
            return s;
        }
    }

    /** The home's claim, never owned (homes outlive environments) and never changed once made. */
    static final class HomeClaim extends Dependent<PersistentVolumeClaim> {
        private final KubernetesSettings settings;

        HomeClaim(KubernetesClient client, KubernetesSettings settings, Watched<PersistentVolumeClaim> watched) {
            super(client, settings.namespace(), PersistentVolumeClaim.class, watched);
            this.settings = settings;
        }

        @Override
        PersistentVolumeClaim desired(Ensuring e) {
            return EnvironmentObjects.homeClaim(e.spec(), settings);
        }

        @Override
        boolean createOnly() {
            return true;
        }
    }

    /** The Service the SSH proxy reaches the environment through (Jupyter's port when wanted). */
    static final class Access extends Dependent<Service> {
        Access(KubernetesClient client, String ns, Watched<Service> watched) {
            super(client, ns, Service.class, watched);
        }

        @Override
        Service desired(Ensuring e) {
            return EnvironmentObjects.service(e.spec(), ns, e.owner());
        }
    }

    /** Node 0 of a distributed reservation: the headless Service that names every node. */
    static final class PeersService extends Dependent<Service> {
        PeersService(KubernetesClient client, String ns, Watched<Service> watched) {
            super(client, ns, Service.class, watched);
        }

        @Override
        Service desired(Ensuring e) {
            return e.spec().rank() == 0 && e.spec().distributed() ? EnvironmentObjects.peersService(e.spec(), ns, e.owner()) : null;
        }
    }

    /** Node 0 of a distributed reservation: the rule that lets its nodes talk to each other. */
    static final class PeersPolicy extends Dependent<NetworkPolicy> {
        PeersPolicy(KubernetesClient client, String ns, Watched<NetworkPolicy> watched) {
            super(client, ns, NetworkPolicy.class, watched);
        }

        @Override
        NetworkPolicy desired(Ensuring e) {
            return e.spec().rank() == 0 && e.spec().distributed() ? EnvironmentObjects.peersPolicy(e.spec(), ns, e.owner()) : null;
        }
    }

    /** The pod: made once; a pod stopped for good (evicted) is deleted, and the next ensure makes it again. */
    static final class Pods extends Dependent<Pod> {
        private final KubernetesSettings settings;

        Pods(KubernetesClient client, KubernetesSettings settings, Watched<Pod> watched) {
            super(client, settings.namespace(), Pod.class, watched);
            this.settings = settings;
        }

        @Override
        Pod desired(Ensuring e) {
            return EnvironmentObjects.pod(e.spec(), settings, e.node(), e.owner());
        }

        @Override
        boolean createOnly() {
            return true;
        }

        @Override
        Pod reconcile(Ensuring e) {
            Pod have = current(e.spec().name());
            if (have != null && ClusterCapacity.finished(have)) {
                delete(e.spec().name(), null);
                return null;
            }
            return super.reconcile(e);
        }
    }
}
