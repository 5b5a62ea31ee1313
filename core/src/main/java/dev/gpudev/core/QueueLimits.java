package dev.gpudev.core;

import java.math.BigDecimal;

/**
 * How much one user may have waiting at once, checked at submit: so that one user's burst of
 * reservations cannot put everyone else's months out. Zero switches a limit off.
 *
 * @param maxWaiting         reservations waiting per user
 * @param maxWaitingGpuHours GPU-hours (GPUs × hours) waiting per user; {@link #AUTO}: a day of every GPU there is
 * @param maxBookings        bookings ahead ({@code --start-at}) waiting per user
 */
public record QueueLimits(int maxWaiting, int maxWaitingGpuHours, int maxBookings) {
    public static final int AUTO = -1;

    public QueueLimits {
        if (maxWaiting < 0 || maxWaitingGpuHours < AUTO || maxBookings < 0) {
            throw new ValidationException("queue limits are 0 (off) or more");
        }
    }

    public QueueLimits(int maxWaiting, int maxWaitingGpuHours) {
        this(maxWaiting, maxWaitingGpuHours, 3);
    }

    /** What a small team would choose: 10 waiting, a day of the whole platform's GPUs, 3 bookings. */
    public static QueueLimits defaults() {
        return new QueueLimits(10, AUTO, 3);
    }

    public static QueueLimits none() {
        return new QueueLimits(0, 0, 0);
    }

    /** The GPU-hours a user may have waiting on this capacity (0: no limit). */
    public int gpuHoursFor(Capacity capacity) {
        if (maxWaitingGpuHours != AUTO) {
            return maxWaitingGpuHours;
        }
        int gpus = capacity.nodes().stream().mapToInt(n -> n.gpus().size()).sum();
        return Math.max(1, gpus) * 24;
    }

    /** Why this request may not wait now, or null when it may. */
    public String refusal(int waiting, BigDecimal waitingGpuHours, int gpus, BigDecimal hours, Capacity capacity) {
        if (maxWaiting > 0 && waiting >= maxWaiting) {
            return "you have " + waiting + " reservations waiting, the most one user may: cancel one (gpu-dev list) or wait for one to start";
        }
        int cap = gpuHoursFor(capacity);
        BigDecimal asked = hours.multiply(BigDecimal.valueOf(gpus));
        if (cap > 0 && waitingGpuHours.add(asked).compareTo(BigDecimal.valueOf(cap)) > 0) {
            return "you have " + waitingGpuHours.stripTrailingZeros().toPlainString() + " GPU-hours waiting and this asks for "
                    + asked.stripTrailingZeros().toPlainString() + "; one user may have at most " + cap
                    + " waiting: ask for fewer GPUs or hours, or wait for one to start";
        }
        return null;
    }
}
