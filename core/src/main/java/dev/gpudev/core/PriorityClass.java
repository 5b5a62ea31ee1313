package dev.gpudev.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A reservation's class. Three are built in: {@code normal} is everyone's; {@code high} (admins) adds 48
 * hours to its priority; {@code preemptible} runs on GPUs no one else needs now: it is planned after every
 * other waiting reservation, may start on GPUs that are idle now even if they are planned for someone
 * later, and is ended (after a notice, its home kept) when a reservation with a better claim needs its
 * GPUs; its GPU-hours count a quarter toward its user's fair share.
 *
 * <p>Admins define more, or change these, with the server's {@code --priority-class} (see {@link #parse}):
 * hours added to the priority, how much of its GPU-hours count, whether it is preemptible, whether only
 * admins may use it, and how many reservations of it one user may have waiting.
 *
 * @param wire              its name
 * @param boostHours        hours added to the priority of its reservations
 * @param usageWeight       how much of its GPU-hours count toward the user's fair share
 * @param preemptible       planned after all others, runs on idle GPUs, ended for a better claim
 * @param adminOnly         only admins may reserve in it
 * @param maxWaitingPerUser reservations of it one user may have waiting (0: only the user's overall cap)
 */
public record PriorityClass(String wire, double boostHours, double usageWeight, boolean preemptible, boolean adminOnly,
                            int maxWaitingPerUser) {
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,15}");
    public static final PriorityClass HIGH = new PriorityClass("high", 48, 1, false, true, 0);
    public static final PriorityClass NORMAL = new PriorityClass("normal", 0, 1, false, false, 0);
    public static final PriorityClass PREEMPTIBLE = new PriorityClass("preemptible", 0, 0.25, true, false, 0);

    private static volatile Map<String, PriorityClass> defined = builtIn();

    public PriorityClass {
        if (wire == null || !NAME.matcher(wire).matches()) {
            throw new ValidationException("a priority class is named with 1-16 lowercase letters, digits and '-', not '" + Names.shown(wire) + "'");
        }
        if (!(boostHours >= -1000 && boostHours <= 1000)) {
            throw new ValidationException("priority class " + wire + ": boost is -1000 to 1000 hours");
        }
        if (!(usageWeight >= 0 && usageWeight <= 10)) {
            throw new ValidationException("priority class " + wire + ": usage weight is 0 to 10");
        }
        if (maxWaitingPerUser < 0) {
            throw new ValidationException("priority class " + wire + ": max-waiting is 0 (none) or more");
        }
    }

    private static Map<String, PriorityClass> builtIn() {
        Map<String, PriorityClass> m = new LinkedHashMap<>();
        for (PriorityClass p : List.of(HIGH, NORMAL, PREEMPTIBLE)) {
            m.put(p.wire(), p);
        }
        return m;
    }

    /**
     * The classes of this platform: the built-in ones, changed or joined by these (a server's
     * {@code --priority-class}). {@code normal} is every reservation's default and stays an everyday class.
     */
    public static void define(Collection<PriorityClass> classes) {
        Map<String, PriorityClass> m = builtIn();
        for (PriorityClass p : classes) {
            if (p.wire().equals("normal") && (p.preemptible() || p.adminOnly())) {
                throw new ValidationException("priority class normal is everyone's default: it can be neither preemptible nor admins-only");
            }
            m.put(p.wire(), p);
        }
        defined = Map.copyOf(m);
    }

    /** The classes defined now, the built-in ones first. */
    public static List<PriorityClass> all() {
        List<PriorityClass> out = new ArrayList<>(defined.values());
        out.sort(Comparator.comparing(PriorityClass::preemptible).thenComparing(Comparator.comparingDouble(PriorityClass::boostHours).reversed())
                .thenComparing(PriorityClass::wire));
        return out;
    }

    /** The class asked for by name (null: normal); one not defined is a mistake, said with the ones there are. */
    public static PriorityClass of(String wire) {
        if (wire == null) {
            return defined.getOrDefault("normal", NORMAL);
        }
        PriorityClass p = defined.get(wire.toLowerCase(Locale.ROOT));
        if (p == null) {
            throw new ValidationException("priority_class must be one of " + String.join(", ", all().stream().map(PriorityClass::wire).toList())
                    + ", not '" + Names.shown(wire) + "'");
        }
        return p;
    }

    /** A stored reservation's class: as defined now, or (a class since removed) an everyday class under its name. */
    public static PriorityClass stored(String wire) {
        if (wire == null) {
            return of(null);
        }
        PriorityClass p = defined.get(wire);
        return p != null ? p : new PriorityClass(wire, 0, 1, false, false, 0);
    }

    /**
     * A class from a server flag: {@code NAME[:boost=HOURS][,usage=WEIGHT][,preemptible][,admin][,max-waiting=N]},
     * e.g. {@code urgent:boost=12,max-waiting=1} or {@code batch:boost=-6,usage=0.5}. What is not said is as
     * {@code normal} has it.
     */
    public static PriorityClass parse(String spec) {
        String s = spec.trim();
        int colon = s.indexOf(':');
        String name = colon < 0 ? s : s.substring(0, colon);
        // a built-in class changed keeps what is not said (high stays admins-only, preemptible preemptible)
        PriorityClass base = builtIn().getOrDefault(name, NORMAL);
        double boost = base.boostHours();
        double usage = base.usageWeight();
        boolean preemptible = base.preemptible();
        boolean admin = base.adminOnly();
        int maxWaiting = base.maxWaitingPerUser();
        if (colon >= 0) {
            for (String part : s.substring(colon + 1).split(",")) {
                String p = part.trim();
                int eq = p.indexOf('=');
                String key = eq < 0 ? p : p.substring(0, eq);
                String value = eq < 0 ? null : p.substring(eq + 1);
                try {
                    switch (key) {
                        case "boost" -> boost = Double.parseDouble(value);
                        case "usage" -> usage = Double.parseDouble(value);
                        case "max-waiting" -> maxWaiting = Integer.parseInt(value);
                        case "preemptible" -> preemptible = true;
                        case "admin" -> admin = true;
                        default -> throw new ValidationException("--priority-class " + spec + ": '" + key
                                + "' is not one of boost=HOURS, usage=WEIGHT, preemptible, admin, max-waiting=N");
                    }
                } catch (NumberFormatException | NullPointerException e) {
                    throw new ValidationException("--priority-class " + spec + ": " + key + " needs a number, like " + key + "=2");
                }
            }
        }
        return new PriorityClass(name, boost, usage, preemptible, admin, maxWaiting);
    }
}
