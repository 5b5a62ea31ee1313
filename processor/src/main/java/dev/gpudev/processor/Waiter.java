package dev.gpudev.processor;

import dev.gpudev.store.Notifications;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The loop's wait between cycles: until a NOTIFY (a command was queued), a wake-up from this process (a
 * backend call finished), or the poll interval. The database's notifications are read in short slices
 * while a wake-up may come from here, so a finished call is looked at within milliseconds.
 */
final class Waiter implements AutoCloseable {
    /** How often a local wake-up is looked for while one is expected. */
    private static final int SLICE_MS = 20;

    private final Notifications.Listener listener;
    private final AtomicBoolean woken = new AtomicBoolean();

    Waiter(Notifications.Listener listener) {
        this.listener = listener;
    }

    /** Ends the current (or next) wait at once. */
    void wake() {
        woken.set(true);
        synchronized (woken) {
            woken.notifyAll();
        }
    }

    /**
     * Waits up to timeoutMs for a wake-up from this process only (a backend call finished), not for the
     * database's notifications: the pause between two cycles, which serves a burst of submits by one cycle
     * but must not delay what a finished call brought. The wake-up stays for the next wait to see.
     */
    void pause(long timeoutMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (woken) {
            while (!woken.get()) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return;
                }
                try {
                    woken.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Waits up to timeoutMs.
     *
     * @param expectingWake whether a local wake-up may come (calls are in flight): then the wait is sliced
     */
    void await(int timeoutMs, boolean expectingWake) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (!woken.getAndSet(false)) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return;
            }
            if (listener.await((int) (expectingWake ? Math.min(left, SLICE_MS) : left))) {
                return;
            }
        }
    }

    @Override
    public void close() {
        listener.close();
    }
}
