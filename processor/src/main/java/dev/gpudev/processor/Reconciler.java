package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.backend.spi.Backend;
import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.DiskRef;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.backend.spi.Observed;
import dev.gpudev.backend.spi.Gang;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.Transition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * Level-triggered: makes the backend match the rows, whatever happened before. Every live
 * reservation's environments are ensured (again only when what they should be changed, or they are
 * missing: a pod deleted behind our back comes back); a reservation whose environments are all ready
 * becomes active with the endpoints the backend reported, written whole; an active one whose
 * endpoints moved gets them rewritten; a permanent failure fails it with the backend's reason; a
 * transient one is made again. Environments no live reservation owns are removed.
 */
final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    private final Database db;
    private final Reservations reservations;
    private final SshKeys sshKeys;
    private final Backend backend;
    private final Clock clock;
    private final BackendCalls calls;
    /** Permanent refusals of an ensure, by reservation: the reservation fails with the backend's words. */
    private final Map<UUID, String> refused = new HashMap<>();
    /** An ensure abandoned at its deadline, by reservation: said in the status while it is made again. */
    private final Map<UUID, String> stalled = new HashMap<>();
    /**
     * What each environment was last ensured as, and when: ensuring again is for a change, a missing
     * environment, or once a minute (level-triggered: what drifted, a dead service, is put right).
     */
    private final Map<String, Ensured> ensured = new HashMap<>();
    static final Duration ENSURE_AGAIN_EVERY = Duration.ofMinutes(1);

    private record Ensured(EnvironmentSpec spec, Instant at) {
    }

    private final dev.gpudev.store.Disks disks = new dev.gpudev.store.Disks();
    private final dev.gpudev.store.ImageBuilds imageBuilds = new dev.gpudev.store.ImageBuilds();
    /** Images built from Dockerfiles, by hash (a build is never made twice: its image is in the database). */
    private final Map<String, String> built = new HashMap<>();
    /** The prefix of a reservation's image that asks for a build of its Dockerfile: "build:sha256:HEX". */
    static final String BUILD = "build:";

    /**
     * Whether a reservation waits for its image's build (asked for here when it is neither built nor failed); a
     * failed build fails it with the failing step. False when it asks for no build or its image is built.
     */
    private boolean awaitingBuild(Reservation r, LiveSet live) {
        String image = r.options().image();
        if (image == null || !image.startsWith(BUILD)) {
            return false;
        }
        String hash = image.substring(BUILD.length());
        if (built.containsKey(hash)) {
            return false;
        }
        var build = db.query(c -> imageBuilds.find(c, hash));
        if (build.isEmpty()) {
            fail(r, "its Dockerfile's build context " + hash + " is not stored (upload it again: gpu-dev reserve --dockerfile)", live);
            return true;
        }
        if (build.get().built()) {
            built.put(hash, build.get().image());
            return false;
        }
        if (build.get().failure() != null) {
            fail(r, build.get().failure() + " (gpu-dev logs " + r.environmentName(0) + " --build shows its log)", live);
            return true;
        }
        String doing;
        if (building.containsKey(hash) || building.size() < MAX_BUILDS && !building.containsValue(r.userId())) {
            if (calls.submit(new BackendCall.Build(hash, r.userId(), r.username(), db, imageBuilds, clock))) {
                building.put(hash, r.userId());
            }
            doing = "preparing: building its image from the Dockerfile (" + hash.substring(0, 19) + ")";
        } else {
            // builds hold a worker for minutes: a few at a time, one per user, so environments are never starved of workers
            doing = "preparing: its image's build waits for another build to end";
        }
        if (r.status() == ReservationStatus.PREPARING && !doing.equals(r.detailedStatus())) {
            update(r, ReservationUpdate.of().detail(doing));
        }
        return true;
    }

    /** Builds asked for and not yet ended, by hash: whose they are. */
    private final Map<String, Long> building = new HashMap<>();
    /** Builds at once, at most (each holds a backend worker for up to its deadline). */
    static final int MAX_BUILDS = 2;

    /** The image its environments run on: a built one's reference, or what it named. */
    private String imageOf(Reservation r) {
        String image = r.options().image();
        return image != null && image.startsWith(BUILD) ? built.get(image.substring(BUILD.length())) : image;
    }

    Reconciler(Database db, Reservations reservations, SshKeys sshKeys, Backend backend, Clock clock, BackendCalls calls) {
        this.db = db;
        this.reservations = reservations;
        this.sshKeys = sshKeys;
        this.backend = backend;
        this.clock = clock;
        this.calls = calls;
    }

    /**
     * @param observedBefore the backend as it was before the live rows were read: an environment another
     *                       replica creates meanwhile belongs to a row already committed as live, so it is
     *                       never mistaken for an orphan
     */
    void run(LiveSet live, Map<String, Observed> observedBefore) {
        List<Reservation> rows = live.all();
        Set<String> wanted = new HashSet<>();
        for (Reservation r : rows) {
            // Every node's name first: a failure while making one node must never make the others orphans.
            wanted.addAll(r.environmentNames());
        }
        try {
            converge(rows, live, observedBefore);
        } finally {
            for (String name : observedBefore.keySet()) {
                if (!wanted.contains(name)) {
                    destroy(name, "no live reservation owns it");
                }
            }
        }
    }

    /** What came of the ensures and removals asked for before: recorded, so that the next steps act on it. */
    private boolean takeOutcomes() {
        boolean ensuredSome = false;
        for (var o : calls.drain(BackendCall.Ensure.class, BackendCall.Destroy.class, BackendCall.Build.class)) {
            switch (o.request()) {
                case BackendCall.Ensure e -> {
                    var spec = e.spec();
                    if (o.ok()) {
                        ensuredSome = true;
                        stalled.remove(spec.reservationId());
                    } else {
                        ensured.remove(spec.name()); // asked again on the next pass
                        if (o.timedOut()) {
                            stalled.put(spec.reservationId(), o.problem() + "; trying again");
                        } else if (o.error() instanceof BackendException be && !be.isTransient()) {
                            refused.put(spec.reservationId(), be.getMessage());
                        } else {
                            log.warn("environment {} not made yet (will retry): {}", spec.name(), o.problem());
                            if (o.error() instanceof BackendException be) {
                                // what it waits for, in the backend's words ("pulling image ..."), shown while it is preparing
                                stalled.put(spec.reservationId(), "preparing: " + be.getMessage());
                            }
                        }
                    }
                }
                case BackendCall.Build b -> {
                    building.remove(b.hash());
                    if (o.ok() && o.result() instanceof dev.gpudev.backend.spi.ImageBuild.Built made) {
                        built.put(b.hash(), made.image());
                        ensuredSome = true; // its reservations are made now
                    } else if (!o.ok()) {
                        log.warn("the build of {} did not succeed: {}", b.hash(), o.problem());
                    }
                }
                case BackendCall.Destroy d -> {
                    if (o.ok()) {
                        log.info("removed environment {}", d.name());
                    } else {
                        log.warn("could not remove environment {} (tried again while it is there): {}", d.name(), o.problem());
                    }
                }
                default -> {
                }
            }
        }
        return ensuredSome;
    }

    private void converge(List<Reservation> rows, LiveSet live, Map<String, Observed> observedBefore) {
        takeOutcomes();
        Map<UUID, List<String>> keys = rows.isEmpty() ? Map.of()
                : db.query(c -> sshKeys.forReservations(c, live.ids()));
        boolean asked = false;
        Instant now = clock.instant();
        for (Reservation r : rows) {
            if (refused.containsKey(r.id())) {
                continue;
            }
            try {
                if (awaitingBuild(r, live)) {
                    continue;
                }
                List<EnvironmentSpec> due = new ArrayList<>();
                for (EnvironmentSpec spec : specs(r, keys.getOrDefault(r.id(), List.of()))) {
                    Ensured last = ensured.get(spec.name());
                    boolean stale = last == null || !spec.equals(last.spec()) || now.isAfter(last.at().plus(ENSURE_AGAIN_EVERY));
                    if ((!observedBefore.containsKey(spec.name()) || stale) && !calls.pending(new BackendCall.Ensure(spec))) {
                        due.add(spec);
                    }
                }
                if (due.isEmpty()) {
                    continue;
                }
                if (due.stream().anyMatch(s -> !observedBefore.containsKey(s.name()))
                        && db.query(c -> reservations.find(c, r.id())).map(x -> x.status().isTerminal()).orElse(true)) {
                    continue; // ended meanwhile (another replica applied a cancel): never make its environment again
                }
                for (EnvironmentSpec spec : due) {
                    ensured.put(spec.name(), new Ensured(spec, now));
                    asked |= calls.submit(new BackendCall.Ensure(spec));
                }
            } catch (RuntimeException e) {
                log.error("environment of {} could not be ensured (will retry): {}", r.id(), e.toString());
            }
        }
        // Calls made at once (no workers) have their outcome already; with workers it comes on a later pass.
        boolean ensuredNow = asked && takeOutcomes();
        Map<String, Observed> observed = ensuredNow ? backend.observe() : observedBefore;
        for (Reservation r : rows) {
            try {
                String refusal = refused.remove(r.id());
                if (refusal != null) {
                    fail(r, "the environment could not be created: " + refusal, live);
                } else {
                    follow(r, observed, live);
                }
            } catch (RuntimeException e) {
                log.error("reservation {} could not be followed (will retry): {}", r.id(), e.toString());
            }
        }
        refused.keySet().retainAll(live.ids());
        stalled.keySet().retainAll(live.ids());
    }

    /** The environments a reservation should have: one per node of its placement. */
    private List<EnvironmentSpec> specs(Reservation r, List<String> keys) {
        List<Reservation.Placement.Slice> slices = r.placement() == null ? List.of() : r.placement().slices();
        List<EnvironmentSpec> out = new ArrayList<>();
        List<String> members = new ArrayList<>();
        for (int rank = 0; rank < slices.size(); rank++) {
            members.add(r.environmentName(rank));
        }
        // A distributed reservation is a gang, even on one node (it gets the rendezvous variables all the same).
        Gang gang = r.options().distributed() && !members.isEmpty() ? new Gang(members) : null;
        for (int rank = 0; rank < slices.size(); rank++) {
            var slice = slices.get(rank);
            EnvironmentSpec.Home home = new EnvironmentSpec.Home.Own();
            if (rank == 0 && r.options().scratch()) {
                home = new EnvironmentSpec.Home.Scratch();
            } else if (rank == 0 && r.options().disk() != null && r.options().diskId() != null) {
                home = new EnvironmentSpec.Home.Disk(new DiskRef(r.options().diskId(), r.userId(), r.username(), r.options().disk()));
            }
            var access = r.lifecycle().jupyterAccess();
            EnvironmentSpec.Jupyter jupyter = rank == 0 && r.lifecycle().jupyter() && access != null
                    ? new EnvironmentSpec.Jupyter(access.port(), access.token()) : null;
            out.add(new EnvironmentSpec(r.id(), r.environmentName(rank), rank, new EnvironmentSpec.Owner(r.userId(), r.username()),
                    slice.node(), slice.gpuCount(), keys, jupyter, home, imageOf(r), gang, r.options().env(), r.options().run()));
        }
        return out;
    }

    /** Reads the phases of a reservation's environments and moves the row along. */
    private void follow(Reservation r, Map<String, Observed> observed, LiveSet live) {
        if (r.placement() == null) {
            fail(r, "it has no placement (a row from before placements were recorded)", live);
            return;
        }
        List<Observed.Phase.Ready> ready = new ArrayList<>();
        String starting = null;
        for (int rank = 0; rank < r.nodeCount(); rank++) {
            String name = r.environmentName(rank);
            Observed o = observed.get(name);
            if (o == null) {
                starting = "creating environment";
                continue;
            }
            switch (o.phase()) {
                case Observed.Phase.Ready rd -> ready.add(rd);
                case Observed.Phase.Starting s -> starting = s.detail();
                case Observed.Phase.Failed f when f.isTransient() -> {
                    log.warn("environment {} failed ({}); it is ensured again", name, f.reason());
                    ensured.remove(name); // the next pass asks the backend to put it right
                    starting = "restarting: " + f.reason();
                }
                case Observed.Phase.Failed f -> {
                    fail(r, f.reason(), live);
                    return;
                }
            }
        }
        if (ready.size() < r.nodeCount()) {
            if (stalled.containsKey(r.id())) {
                starting = stalled.get(r.id());
            }
            if (r.status() == ReservationStatus.PREPARING && starting != null && !starting.equals(r.detailedStatus())) {
                update(r, ReservationUpdate.of().detail(starting));
            }
            return;
        }
        List<Reservation.Placement.Slice> reported = ready.stream()
                .map(rd -> new Reservation.Placement.Slice(null, 0, rd.devices(), rd.sshHost(), rd.sshPort())).toList();
        Reservation.Placement running = r.placement().withRunning(reported);
        String detail = ready.getFirst().detail();
        if (r.status() == ReservationStatus.PREPARING) {
            Instant at = clock.instant();
            String zone = diskZone(r);
            db.inTransaction(c -> {
                var activated = reservations.transition(c, r.id(), ReservationStatus.PREPARING, Transition.activate(r, at, running, detail), at);
                if (activated.isPresent() && zone != null) {
                    disks.recordZone(c, r.options().diskId(), zone); // its volume was made there: it stays there
                }
                return activated;
            }).ifPresentOrElse(live::put, () -> live.remove(r.id()));
            return;
        }
        Observed node0 = observed.get(r.environmentName(0));
        if (r.options().run() != null && r.lifecycle().runOutcome() == null && node0 != null && node0.runEnd() != null) {
            runEnded(r, node0.runEnd(), live);
            return;
        }
        ReservationUpdate changes = ReservationUpdate.of();
        if (!running.equals(r.placement())) {
            // The environment came back elsewhere (a restart, a recreated pod): the endpoint is written whole.
            log.warn("environment {} moved to {}:{}", r.environmentName(), running.slices().getFirst().sshHost(),
                    running.slices().getFirst().sshPort());
            var first = running.slices().getFirst();
            changes.placement(running).endpoint(new Reservation.Connection(first.sshHost(), first.sshPort()));
        }
        if (!Objects.equals(detail, r.detailedStatus())) {
            changes.detail(detail);
        }
        update(r, changes);
    }

    /** The zone of the node a reservation's disk is used on (where its zonal volume lives); null: no disk or not known. */
    private String diskZone(Reservation r) {
        if (r.options().diskId() == null || r.placement() == null) {
            return null;
        }
        String node = r.placement().node();
        return backend.capacity().nodes().stream().filter(n -> n.name().equals(node)).findFirst()
                .map(n -> n.labels().get(Reservation.Options.ZONE_LABEL)).orElse(null);
    }

    /**
     * Node 0's command ended: its code and the end of its output are recorded, and the reservation ends with
     * it ({@link Transition#runEnded}), its environments removed (the home stays, with the whole log), unless
     * it is kept until its hours are up.
     */
    private void runEnded(Reservation r, Observed.RunEnd end, LiveSet live) {
        var outcome = new dev.gpudev.core.BatchRun.Outcome(end.exitCode(), clock.instant());
        log.info("reservation {}: its command {}", r.id(), outcome.words());
        if (r.options().run().keep()) {
            String words = "the command " + outcome.words() + "; kept until its hours are up";
            db.inTransaction(c -> reservations.note(c, r.id(), r.status(), words, outcome.endedAt(),
                    ReservationUpdate.of().runOutcome(outcome, end.logTail()).detail(words))).ifPresent(live::put);
            return;
        }
        end(r, Transition.runEnded(outcome, end.logTail()), "its command ended", live);
    }

    /** Writes what changed, only while the row is still in the state it was read in (another replica may have ended it). */
    private void update(Reservation r, ReservationUpdate changes) {
        if (!changes.isEmpty()) {
            db.inTransaction(c -> {
                reservations.updateIf(c, r.id(), r.status(), changes);
                return null;
            });
        }
    }

    private void fail(Reservation r, String reason, LiveSet live) {
        log.error("reservation {} failed: {}", r.id(), reason);
        end(r, Transition.fail(reason), "its reservation failed", live);
    }

    /** Ends a reservation (while it is still in the state it was read in) and asks for its environments' removal. */
    private void end(Reservation r, Transition transition, String why, LiveSet live) {
        Reservation after = db.inTransaction(c -> reservations.transition(c, r.id(), r.status(), transition, clock.instant()).orElse(null));
        if (after != null) {
            live.put(after);
            for (String name : r.environmentNames()) {
                destroy(name, why);
            }
        } else {
            live.remove(r.id());
        }
    }

    /** Asks for an environment's removal (notices it left on a kept disk go with it: the backend's destroy owns them). */
    private void destroy(String name, String why) {
        if (calls.submit(new BackendCall.Destroy(name))) {
            ensured.remove(name);
            log.info("removing environment {}: {}", name, why);
        }
    }
}
