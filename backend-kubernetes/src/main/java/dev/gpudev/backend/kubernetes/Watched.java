package dev.gpudev.backend.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.Supplier;

/** An informer that is made again when it stops (a lost watch it could not resume). */
final class Watched<T extends HasMetadata> {
    private static final Logger log = LoggerFactory.getLogger(Watched.class);

    private final String what;
    private final Supplier<SharedIndexInformer<T>> start;
    private volatile SharedIndexInformer<T> informer;

    Watched(String what, Supplier<SharedIndexInformer<T>> start) {
        this.what = what;
        this.start = start;
        this.informer = start.get();
    }

    List<T> list() {
        healthy();
        return informer.getStore().list();
    }

    T get(String key) {
        healthy();
        return informer.getStore().getByKey(key);
    }

    /** An informer that stopped (its watch failed for good) is replaced; its first list catches up on what it missed. */
    synchronized void healthy() {
        if (!informer.isRunning()) {
            log.warn("the {} informer stopped; starting it again", what);
            try {
                informer.stop();
            } catch (RuntimeException ignored) {
                // already stopped
            }
            informer = start.get();
        }
    }

    /** For tests: as if the watch were lost for good. */
    void lose() {
        informer.stop();
    }

    void stop() {
        informer.stop();
    }
}
