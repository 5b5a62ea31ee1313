package dev.gpudev.core;

/**
 * A reservation's class. {@code normal} is everyone's; {@code high} (admins) adds hours to its priority;
 * {@code preemptible} runs on GPUs no one else needs now: it is planned after every other waiting
 * reservation, may start on GPUs that are idle now even if they are planned for someone later, and is
 * ended (after a notice, its home kept) when a reservation with a better claim needs its GPUs. Its
 * GPU-hours count a quarter toward its user's fair share.
 */
public enum PriorityClass {
    HIGH("high", 48, 1),
    NORMAL("normal", 0, 1),
    PREEMPTIBLE("preemptible", 0, 0.25);

    private final String wire;
    private final double boostHours;
    private final double usageWeight;

    PriorityClass(String wire, double boostHours, double usageWeight) {
        this.wire = wire;
        this.boostHours = boostHours;
        this.usageWeight = usageWeight;
    }

    public String wire() {
        return wire;
    }

    /** Hours added to the priority of its reservations. */
    public double boostHours() {
        return boostHours;
    }

    /** How much of its GPU-hours count toward the user's fair share. */
    public double usageWeight() {
        return usageWeight;
    }

    public boolean preemptible() {
        return this == PREEMPTIBLE;
    }

    public static PriorityClass of(String wire) {
        if (wire == null) {
            return NORMAL;
        }
        for (PriorityClass p : values()) {
            if (p.wire.equals(wire)) {
                return p;
            }
        }
        throw new ValidationException("priority_class must be high, normal or preemptible, not '" + Names.shown(wire) + "'");
    }
}
