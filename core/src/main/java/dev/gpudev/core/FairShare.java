package dev.gpudev.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Fair share: the order waiting reservations are planned in (Slurm's multifactor priority, with its
 * classic fair-share factor).
 *
 * <pre>
 *   priority = hours waited + weight × factor(user)
 *   factor   = 2 ^ −( (usage of the user / usage of all) / (share of the user / shares of all) )
 * </pre>
 * where usage is GPU-hours decayed with a half-life (an hour of one GPU used one half-life ago counts
 * half), and the shares are summed over the users who compete now (those with usage or waiting). A
 * user who used nothing has factor 1, one who used exactly their share ½, one who used everything with
 * one share in two ¼. The weight is in hours: with the default 24, a user with factor 1 goes ahead of
 * a reservation of a user with factor 0 that has waited less than a day. Age has no cap, so nobody
 * starves: every waiting reservation eventually outranks any newcomer. Ties go to the older.
 *
 * <p>Teams (Slurm's accounts, two levels): the teams and the users in no team share the platform by
 * their shares; a team's members share the team's part by theirs, so a member's share is
 * {@code share(team) × share(user within the team)}. A member's usage is Slurm's classic effective usage,
 * {@code usage(user) + (usage(team) − usage(user)) × share(user within the team)}: what the rest of the
 * team used counts against them too, by their part of the team. A reservation is charged to the team it
 * was made for; a user in no team is their own top level (so without teams this is the plain formula).
 *
 * <p>Between two computations of the factors (the processor computes them at most a minute apart)
 * the order of two waiting reservations never changes: both age alike, so comparing
 * {@code weight × factor − created} (in hours) orders them as their priorities do at any time.
 */
public final class FairShare {

    /**
     * @param halfLife    how fast usage is forgotten (FAIR_SHARE_HALF_LIFE, default 7 days)
     * @param weightHours how many hours of waiting a factor of 1 is worth (FAIR_SHARE_WEIGHT, default 24;
     *                    0 is plain first come, first served)
     */
    public record Policy(Duration halfLife, double weightHours) {
        public Policy {
            if (halfLife.isNegative() || halfLife.isZero()) {
                throw new ValidationException("the fair-share half-life must be positive");
            }
            if (!(weightHours >= 0) || Double.isInfinite(weightHours)) {
                throw new ValidationException("the fair-share weight is 0 (off) or more hours");
            }
        }

        public static Policy defaults() {
            return new Policy(Duration.ofDays(7), 24);
        }

        /** First come, first served. */
        public static Policy off() {
            return new Policy(Duration.ofDays(7), 0);
        }
    }

    /**
     * Where a user (charged to a team, or to none) or a team stands: decayed GPU-hours used, their share
     * (normalized over who competes now) of the platform and of its usage (for a user in a team, the
     * effective usage: see the class comment), and the factor that follows.
     */
    public record Standing(double usedGpuHours, double share, double usageShare, double factor) {
        public static final Standing UNUSED = new Standing(0, 0, 0, 1);
    }

    /** Who a reservation's GPU-hours are charged to: its user, in a team or in none (null). */
    public record Charge(long user, String team) {
    }

    /** Decayed GPU-hours of one user charged to one team (or to none). */
    public record Use(long user, String team, double gpuHours) {
    }

    private static final FairShare NONE = new FairShare(Policy.off(), Map.of(), Map.of(), Guarantees.none());

    private final Policy policy;
    private final Map<Charge, Standing> standings;
    private final Map<String, Standing> teams;
    private final Guarantees guarantees;

    private FairShare(Policy policy, Map<Charge, Standing> standings, Map<String, Standing> teams, Guarantees guarantees) {
        this.policy = policy;
        this.standings = Map.copyOf(standings);
        this.teams = Map.copyOf(teams);
        this.guarantees = guarantees;
    }

    /** First come, first served: no usage counts. */
    public static FairShare none() {
        return NONE;
    }

    /** First come, first served, with these guaranteed GPUs. */
    public static FairShare none(Guarantees guarantees) {
        return NONE.withGuarantees(guarantees);
    }

    /**
     * The standings of users in no team who compete now.
     *
     * @param usage     decayed GPU-hours per user (see {@link #decayedGpuHours})
     * @param shares    each user's share where an admin set one (others have 1)
     * @param competing users with reservations waiting (they compete even with no usage)
     */
    public static FairShare of(Policy policy, Map<Long, Double> usage, Map<Long, Double> shares, Collection<Long> competing) {
        List<Use> uses = new ArrayList<>();
        usage.forEach((u, h) -> uses.add(new Use(u, null, h)));
        return of(policy, uses, shares, Map.of(), competing.stream().map(u -> new Charge(u, null)).toList());
    }

    /**
     * The standings of everyone who competes now: users in no team and teams share the platform (by
     * their shares), a team's members share the team's part (by theirs).
     *
     * @param uses       decayed GPU-hours per user and team charged
     * @param userShares each user's share where an admin set one (others have 1)
     * @param teamShares each team's share where an admin set one (others have 1)
     * @param competing  who has reservations waiting (they compete even with no usage)
     */
    public static FairShare of(Policy policy, Collection<Use> uses, Map<Long, Double> userShares, Map<String, Double> teamShares,
                               Collection<Charge> competing) {
        Map<Charge, Double> used = new HashMap<>();
        for (Charge c : competing) {
            used.putIfAbsent(c, 0.0);
        }
        for (Use u : uses) {
            if (u.gpuHours() > 0) {
                used.merge(new Charge(u.user(), u.team()), u.gpuHours(), Double::sum);
            }
        }
        double totalUsage = 0;
        Map<String, Double> topShares = new HashMap<>(); // a team ("t:" name) or a user in no team ("u:" id)
        Map<String, Double> memberShares = new HashMap<>(); // per team: its competing members' shares summed
        Map<String, Double> teamUsage = new HashMap<>();
        for (var e : used.entrySet()) {
            Charge c = e.getKey();
            totalUsage += e.getValue();
            if (c.team() == null) {
                topShares.put("u:" + c.user(), share(userShares, c.user()));
            } else {
                topShares.put("t:" + c.team(), Math.max(0, teamShares.getOrDefault(c.team(), 1.0)));
                memberShares.merge(c.team(), share(userShares, c.user()), Double::sum);
                teamUsage.merge(c.team(), e.getValue(), Double::sum);
            }
        }
        double allShares = topShares.values().stream().mapToDouble(Double::doubleValue).sum();
        Map<Charge, Standing> out = new HashMap<>();
        for (var e : used.entrySet()) {
            Charge c = e.getKey();
            double usageShare = totalUsage > 0 ? e.getValue() / totalUsage : 0;
            double share;
            if (c.team() == null) {
                share = allShares > 0 ? share(userShares, c.user()) / allShares : 0;
            } else {
                double top = allShares > 0 ? topShares.get("t:" + c.team()) / allShares : 0;
                double members = memberShares.get(c.team());
                double within = members > 0 ? share(userShares, c.user()) / members : 0;
                share = top * within;
                // Slurm's classic effective usage: a member also carries the team's usage, by their part of it
                double team = totalUsage > 0 ? teamUsage.get(c.team()) / totalUsage : 0;
                usageShare = usageShare + (team - usageShare) * within;
            }
            out.put(c, new Standing(e.getValue(), share, usageShare, factor(usageShare, share)));
        }
        Map<String, Standing> teamStandings = new HashMap<>();
        for (var e : teamUsage.entrySet()) {
            double share = allShares > 0 ? topShares.get("t:" + e.getKey()) / allShares : 0;
            double usageShare = totalUsage > 0 ? e.getValue() / totalUsage : 0;
            teamStandings.put(e.getKey(), new Standing(e.getValue(), share, usageShare, factor(usageShare, share)));
        }
        return new FairShare(policy, out, teamStandings, Guarantees.none());
    }

    private static double factor(double usageShare, double share) {
        return usageShare == 0 ? 1 : share == 0 ? 0 : Math.pow(2, -usageShare / share);
    }

    private static double share(Map<Long, Double> shares, long user) {
        return Math.max(0, shares.getOrDefault(user, 1.0));
    }

    /** These standings with these guaranteed GPUs (claims the planner honours before fair share). */
    public FairShare withGuarantees(Guarantees g) {
        return new FairShare(policy, standings, teams, g);
    }

    public Guarantees guarantees() {
        return guarantees;
    }

    public Policy policy() {
        return policy;
    }

    /** A user's standing in no team. */
    public Standing standing(long user) {
        return standing(user, null);
    }

    /** A user's standing charged to this team (null: to none). */
    public Standing standing(long user, String team) {
        return standings.getOrDefault(new Charge(user, team), Standing.UNUSED);
    }

    /** A team's standing as a whole (its usage against its share). */
    public Standing team(String team) {
        return teams.getOrDefault(team, Standing.UNUSED);
    }

    private Standing standing(Reservation r) {
        return standings.isEmpty() ? Standing.UNUSED : standing(r.userId(), r.options().team());
    }

    /** A reservation's priority now, in hours: hours waited, plus the weight times its user's factor, plus its class's boost. */
    public double priority(Reservation r, Instant now) {
        return Duration.between(r.createdAt(), now).toMillis() / 3_600_000.0 + policy.weightHours() * standing(r).factor()
                + r.options().priority().boostHours();
    }

    /** The part of the priority that does not change with time (hours): higher goes first. */
    public double key(Reservation r) {
        return policy.weightHours() * standing(r).factor() + r.options().priority().boostHours()
                - r.createdAt().toEpochMilli() / 3_600_000.0;
    }

    /**
     * Bookings first, by their start (their windows are kept free); preemptible reservations after all
     * others; in between, highest priority first; equal ones (no weight, or the same user and class)
     * first come, first served. For comparing a few; a deep queue is sorted by {@link #sorted}.
     */
    public Comparator<Reservation> order() {
        Comparator<Reservation> bookingsFirst = Comparator.comparing((Reservation r) -> r.options().startAt(),
                Comparator.nullsLast(Comparator.naturalOrder()));
        return bookingsFirst.thenComparing((Reservation r) -> r.options().priority().preemptible())
                .thenComparing(Comparator.comparingDouble(this::key).reversed())
                .thenComparing(Cycle.FIFO);
    }

    /**
     * These reservations in {@link #order()}, sorted on keys computed once each (a deep queue sorts in
     * tens of milliseconds, not a hash lookup per comparison).
     */
    public List<Reservation> sorted(java.util.Collection<Reservation> rs) {
        record Keyed(Reservation r, long booked, boolean preemptible, double key, long created) {
        }
        Keyed[] keyed = new Keyed[rs.size()];
        int i = 0;
        for (Reservation r : rs) {
            keyed[i++] = new Keyed(r, r.options().startAt() == null ? Long.MAX_VALUE : r.options().startAt().toEpochMilli(),
                    r.options().priority().preemptible(), key(r), r.createdAt().toEpochMilli());
        }
        java.util.Arrays.sort(keyed, Comparator.comparingLong(Keyed::booked).thenComparing(Keyed::preemptible)
                .thenComparing(Comparator.comparingDouble(Keyed::key).reversed())
                .thenComparing((a, b) -> Cycle.FIFO.compare(a.r(), b.r())));
        List<Reservation> out = new ArrayList<>(keyed.length);
        for (Keyed k : keyed) {
            out.add(k.r());
        }
        return out;
    }

    /**
     * Until when a newcomer (of the normal class, whose user used nothing lately: the best claim one can
     * bring) could still go ahead of this waiting reservation; from then on only ends, extensions,
     * admins' high-priority reservations and bookings can move its estimate. Null for a preemptible one:
     * any other newcomer goes ahead of it.
     */
    public Instant overtakableUntil(Reservation r) {
        if (r.options().priority().preemptible()) {
            return null;
        }
        double untilHours = policy.weightHours() - key(r);
        return Instant.ofEpochMilli((long) Math.ceil(untilHours * 3_600_000.0));
    }

    /**
     * GPU-hours of {@code gpus} GPUs held from {@code from} to {@code to}, decayed to {@code now}: the
     * integral of gpus × 2^(−age/halfLife) over the interval. What the store's usage query computes in SQL.
     */
    public static double decayedGpuHours(int gpus, Instant from, Instant to, Instant now, Duration halfLife) {
        double h = halfLife.toMillis() / 3_600_000.0;
        double ageEnd = Math.max(0, Duration.between(to, now).toMillis() / 3_600_000.0);
        double ageStart = Math.max(0, Duration.between(from, now).toMillis() / 3_600_000.0);
        return gpus * h / Math.log(2) * (Math.pow(2, -ageEnd / h) - Math.pow(2, -ageStart / h));
    }

    /**
     * For each waiting reservation of a plan's line (in the order planned), how many ahead of it in its
     * GPU type's line are younger: they went ahead by fair share. The rest of those ahead are older.
     */
    public static Map<UUID, Integer> overtakenBy(List<Reservation> inOrder) {
        Map<String, List<Reservation>> perType = new HashMap<>();
        for (Reservation r : inOrder) {
            perType.computeIfAbsent(r.gpuType(), t -> new ArrayList<>()).add(r);
        }
        Map<UUID, Integer> out = new HashMap<>();
        for (List<Reservation> line : perType.values()) {
            Integer[] byAge = new Integer[line.size()];
            for (int i = 0; i < byAge.length; i++) {
                byAge[i] = i;
            }
            java.util.Arrays.sort(byAge, (a, b) -> Cycle.FIFO.compare(line.get(a), line.get(b)));
            int[] rank = new int[byAge.length];
            for (int i = 0; i < byAge.length; i++) {
                rank[byAge[i]] = i + 1;
            }
            int[] tree = new int[byAge.length + 1]; // Fenwick tree over age ranks of those already in line
            int seen = 0;
            for (int at = 0; at < line.size(); at++) {
                Reservation r = line.get(at);
                int k = rank[at];
                int older = 0;
                for (int i = k; i > 0; i -= i & -i) {
                    older += tree[i];
                }
                out.put(r.id(), seen - older);
                for (int i = k; i < tree.length; i += i & -i) {
                    tree[i]++;
                }
                seen++;
            }
        }
        return out;
    }
}
