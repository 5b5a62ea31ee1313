package dev.gpudev.api;

import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.Database;
import dev.gpudev.store.Notifications;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * API keys checked in the last few seconds, so that a request costs the database one round trip (its
 * own statement), not two. Any revocation, by any replica, is announced on {@link ApiKeys#CHANNEL}
 * when it commits; a thread here listens and forgets every key at once (revocations are rare). The
 * replica that revoked forgets before it answers. While no session listens (the database restarted),
 * nothing is taken from the cache, and a new session forgets what was cached before it.
 */
final class VerifiedKeys implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VerifiedKeys.class);
    /** How long a checked key is believed without asking again, revocations aside. */
    static final Duration TTL = Duration.ofSeconds(10);

    private record Entry(ApiKeys.Key key, Instant checkedAt) {
    }

    private final ConcurrentHashMap<String, Entry> byHash = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong();
    private final Notifications.Listener listener;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long seenSessions;

    VerifiedKeys(Database db) {
        this.listener = new Notifications.Listener(db, ApiKeys.CHANNEL);
        this.thread = Thread.ofPlatform().name("api-key-revocations").daemon().start(this::listen);
    }

    private void listen() {
        while (running) {
            boolean woken = listener.await(1000);
            long sessions = listener.sessions();
            if (woken || sessions != seenSessions) {
                seenSessions = sessions;
                forgetAll();
            }
        }
    }

    /** The generation to hand back to {@link #put}: a read that a revocation overtook is not cached. */
    long generation() {
        return generation.get();
    }

    /** A key checked less than {@link #TTL} ago, or null. */
    ApiKeys.Key get(String hash, Instant now) {
        if (!listener.listening() || listener.sessions() != seenSessions) {
            return null;
        }
        Entry e = byHash.get(hash);
        if (e == null || now.isBefore(e.checkedAt()) || !now.isBefore(e.checkedAt().plus(TTL))) {
            return null;
        }
        return e.key();
    }

    void put(String hash, ApiKeys.Key key, Instant now, long generationBefore) {
        if (byHash.size() > 100_000) {
            byHash.clear(); // a bound, not a policy: keys in use at once are far fewer
        }
        byHash.put(hash, new Entry(key, now));
        if (generation.get() != generationBefore) {
            byHash.remove(hash); // a revocation came while this key was being read
        }
    }

    /** A key's last use was recorded now (the cache keeps that, so it is written once a minute, not per request). */
    void touched(String hash, ApiKeys.Key key, Instant now) {
        byHash.computeIfPresent(hash, (h, e) -> new Entry(key.usedAt(now), e.checkedAt()));
    }

    /** Some key stopped being valid: check every key again. */
    void forgetAll() {
        generation.incrementAndGet();
        byHash.clear();
    }

    @Override
    public void close() {
        running = false;
        listener.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.debug("key cache closed");
    }
}
