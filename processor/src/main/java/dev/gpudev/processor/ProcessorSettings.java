package dev.gpudev.processor;

import dev.gpudev.core.FairShare;
import dev.gpudev.core.Scheduler;

import java.time.Duration;
import java.util.List;

/**
 * How the processor behaves over time. Defaults suit one machine; the server sets them from its flags.
 *
 * @param pollInterval     how often to look for work when no NOTIFY arrives
 * @param lease            how long a read command stays hidden from other replicas while applied
 * @param limits           per-user GPU limits of the scheduler
 * @param warnMinutes      expiry warnings, in minutes before the end
 * @param grace            how long past its end a reservation keeps running before it is expired
 * @param preparingTimeout a reservation preparing longer than this fails
 * @param queuedMaxAge     a reservation waiting longer than this is cancelled
 * @param idle             idle detection
 * @param workers          backend calls off the loop: how many at once, and how long each kind may take
 * @param leadership       for a backend only one processor may drive: how long its lease lasts unrenewed (a
 *                         standby takes over that long after the holder died); standbys look every third of it
 * @param fairShare        the order of the queue: usage's half-life and the weight of the fair-share factor
 * @param preemptionNotice how long ahead a preempted reservation is told its end
 */
public record ProcessorSettings(Duration pollInterval, Duration lease, Scheduler.Limits limits, List<Integer> warnMinutes,
                                Duration grace, Duration preparingTimeout, Duration queuedMaxAge, Idle idle, Workers workers,
                                Duration leadership, FairShare.Policy fairShare, Duration preemptionNotice,
                                dev.gpudev.core.WebhookPolicy webhooks) {

    /**
     * Backend calls run on up to {@code threads} workers, each abandoned past its deadline; zero threads
     * runs them on the loop's own thread, at once (tests that drive the loop cycle by cycle).
     */
    public record Workers(int threads, Duration ensure, Duration destroy, Duration notice, Duration disk) {
        public static Workers defaults() {
            return new Workers(8, Duration.ofMinutes(2), Duration.ofMinutes(2), Duration.ofSeconds(15), Duration.ofMinutes(5));
        }

        /** On the caller's thread, at once: for tests that step the loop. */
        public static Workers inline() {
            return new Workers(0, Duration.ofMinutes(2), Duration.ofMinutes(2), Duration.ofSeconds(15), Duration.ofMinutes(5));
        }
    }

    /**
     * No SSH session and GPU utilization under the threshold for {@code after} gives a warning; after
     * {@code after + warning} more the action runs (release cancels the reservation; none only warns).
     */
    public record Idle(Duration after, Duration warning, int gpuUtilizationThreshold, Action action) {
        public enum Action { release, none }
    }

    public static ProcessorSettings defaults() {
        return new ProcessorSettings(Duration.ofSeconds(1), Duration.ofSeconds(60), Scheduler.Limits.none(),
                List.of(30, 15, 5), Duration.ofMinutes(1), Duration.ofMinutes(15), Duration.ofHours(48),
                new Idle(Duration.ofHours(2), Duration.ofMinutes(15), 5, Idle.Action.none), Workers.defaults(), Duration.ofSeconds(15),
                FairShare.Policy.defaults(), Scheduler.DEFAULT_NOTICE, dev.gpudev.core.WebhookPolicy.anyPublicHost());
    }

    public ProcessorSettings withPollInterval(Duration d) {
        return new ProcessorSettings(d, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, fairShare, preemptionNotice, webhooks);
    }

    public ProcessorSettings withLease(Duration d) {
        return new ProcessorSettings(pollInterval, d, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, fairShare, preemptionNotice, webhooks);
    }

    public ProcessorSettings withLimits(Scheduler.Limits l) {
        return new ProcessorSettings(pollInterval, lease, l, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, fairShare, preemptionNotice, webhooks);
    }

    public ProcessorSettings withLeadership(Duration d) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, d, fairShare, preemptionNotice, webhooks);
    }

    public ProcessorSettings withWorkers(Workers w) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, w, leadership, fairShare, preemptionNotice, webhooks);
    }

    public ProcessorSettings withFairShare(FairShare.Policy f) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, f, preemptionNotice, webhooks);
    }

    public ProcessorSettings withPreemptionNotice(Duration n) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, fairShare, n, webhooks);
    }

    /** Where notifications may be delivered (the server's --notify-allow-hosts). */
    public ProcessorSettings withWebhooks(dev.gpudev.core.WebhookPolicy w) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, idle, workers, leadership, fairShare,
                preemptionNotice, w);
    }

    public ProcessorSettings withIdle(Idle i) {
        return new ProcessorSettings(pollInterval, lease, limits, warnMinutes, grace, preparingTimeout, queuedMaxAge, i, workers, leadership, fairShare, preemptionNotice, webhooks);
    }
}
