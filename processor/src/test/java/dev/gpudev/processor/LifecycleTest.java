package dev.gpudev.processor;

import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.Transition;
import dev.gpudev.store.Disks;
import dev.gpudev.store.ReservationUsers;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Extensions, expiry warnings, timeouts, idle detection, limits, users, Jupyter and disks, on an injected clock. */
class LifecycleTest extends ProcessorFixture {

    void extend(UUID id, String hours) {
        send(new Command.Extend(id, "alice", new BigDecimal(hours)));
    }

    Map<String, String> notices(UUID id) {
        return backend.env(get(id).environmentName()).notices;
    }

    @Test
    void extendingMovesTheEndInPlaceAndIsRecorded() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        Instant end = get(id).expiresAt();
        var endpoint = get(id).connection();
        extend(id, "2.5");
        p.cycle();
        Reservation r = get(id);
        assertEquals(end.plus(Duration.ofMinutes(150)), r.expiresAt());
        assertEquals(0, new BigDecimal("3.5").compareTo(r.durationHours()));
        assertEquals(endpoint, r.connection(), "same environment");
        assertTrue(r.history().getLast().reason().startsWith("extended by 2.5 h"), r.history().getLast().reason());
    }

    @Test
    void extensionsBeyond48HoursInAllAreRefusedAndSaySo() {
        UUID id = submit(1, "24");
        Processor p = processor();
        p.cycle();
        extend(id, "20");
        p.cycle();
        extend(id, "5");
        p.cycle();
        Reservation r = get(id);
        assertEquals(0, new BigDecimal("44").compareTo(r.durationHours()));
        assertTrue(r.history().getLast().reason().contains("at most 48 hours"), r.history().getLast().reason());
        assertTrue(r.history().getLast().reason().contains("4 more hours"), r.history().getLast().reason());
    }

    @Test
    void expiryWarningsComeOnceEachAndAnExtensionClearsThem() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        clock.advance(Duration.ofMinutes(29));
        p.cycle();
        assertFalse(notices(id).containsKey("WARN_EXPIRES_IN_30MIN.txt"));
        clock.advance(Duration.ofMinutes(1).plusSeconds(1));
        p.cycle();
        assertTrue(notices(id).get("WARN_EXPIRES_IN_30MIN.txt").contains("expires in 30 minutes"));
        notices(id).clear();
        p.cycle();
        assertTrue(notices(id).isEmpty(), "sent once");
        assertEquals(List.of(30), get(id).lifecycle().warningsSent());
        clock.advance(Duration.ofMinutes(15));
        p.cycle();
        assertTrue(notices(id).containsKey("WARN_EXPIRES_IN_15MIN.txt"));
        extend(id, "1");
        p.cycle();
        assertEquals(List.of(), get(id).lifecycle().warningsSent());
        assertFalse(notices(id).containsKey("WARN_EXPIRES_IN_15MIN.txt"), "an extension clears the warnings");
        clock.advance(Duration.ofMinutes(46));
        p.cycle();
        assertTrue(notices(id).containsKey("WARN_EXPIRES_IN_30MIN.txt"), "and they come again before the new end");
    }

    @Test
    void aShortReservationGetsOnlyWarningsWhoseNameSaysTheTruthAndTheEndIsSaid() {
        UUID id = submit(1, "0.1"); // 6 minutes: past the 30 and 15 minute marks from the start
        Processor p = processor();
        p.cycle();
        p.cycle();
        assertEquals(Map.of(), notices(id), "no 15-minute file that says 6 minutes");
        assertEquals(List.of(30, 15), get(id).lifecycle().warningsSent().stream().sorted(Comparator.reverseOrder()).toList());
        clock.advance(Duration.ofMinutes(1));
        p.cycle();
        assertTrue(notices(id).get("WARN_EXPIRES_IN_5MIN.txt").contains("expires in 5 minutes,"), notices(id).toString());
        clock.advance(Duration.ofMinutes(5).plusSeconds(10)); // the grace minute: the time is up
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        assertTrue(notices(id).get("TIME_IS_UP.txt").contains("time is up"), notices(id).toString());
        assertFalse(notices(id).containsKey("WARN_EXPIRES_IN_5MIN.txt"), "no stale countdown in the grace minute");
    }

    @Test
    void theLastWarningIsSaidEvenLate() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        clock.advance(Duration.ofMinutes(59)); // the processor was away: a minute left
        p.cycle();
        assertEquals(java.util.Set.of("WARN_EXPIRES_IN_5MIN.txt"), notices(id).keySet());
        assertTrue(notices(id).get("WARN_EXPIRES_IN_5MIN.txt").contains("expires in 1 minute,"), notices(id).toString());
    }

    @Test
    void waitingReservationsKnowTheirPositionEstimateAndReason() {
        UUID running = submit(alice, 8, "2", Reservation.Options.NONE);
        UUID waiting = submit(bob, 4, "1", Reservation.Options.NONE);
        processor().cycle();
        assertEquals(ReservationStatus.ACTIVE, get(running).status());
        Reservation w = get(waiting);
        assertEquals(1, w.queuePosition());
        assertEquals("WAITING_FOR_CAPACITY", w.pendingReason());
        assertEquals(get(running).expiresAt().plus(Duration.ofMinutes(1)), w.estimatedStart());
        assertTrue(w.detailedStatus().contains("expected to start"), w.detailedStatus());
    }

    @Test
    void aUserOverTheirLimitWaitsWithThatReason() {
        Processor p = processor(ProcessorSettings.defaults().withLimits(new Scheduler.Limits(4, Map.of())));
        UUID first = submit(alice, 4, "1", Reservation.Options.NONE);
        UUID second = submit(alice, 2, "1", Reservation.Options.NONE);
        UUID others = submit(bob, 2, "1", Reservation.Options.NONE);
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals("USER_GPU_LIMIT", get(second).pendingReason());
        assertEquals(ReservationStatus.ACTIVE, get(others).status(), "one user's limit holds nobody else back");
    }

    @Test
    void reservationsWaitingOver48HoursAreCancelledWithTheReason() {
        UUID id = submit(alice, 16, "1", Reservation.Options.NONE.withDistributed(true)); // two nodes: there is one
        Processor p = processor();
        p.cycle();
        assertEquals("NO_CAPACITY_OF_TYPE", get(id).pendingReason());
        clock.advance(Duration.ofHours(48).plusMinutes(1));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(get(id).history().getLast().reason().contains("waited longer than 48 hours"));
    }

    @Test
    void aReservationStuckInPreparingFailsSayingWhatItWaitedFor() {
        backend.startingFor = 1_000;
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.PREPARING, get(id).status());
        clock.advance(Duration.ofMinutes(16));
        p.cycle();
        assertEquals(ReservationStatus.FAILED, get(id).status());
        assertTrue(get(id).failureReason().contains("not ready within 15 minutes"), get(id).failureReason());
        assertTrue(get(id).failureReason().contains("starting (in memory)"), get(id).failureReason());
        p.cycle();
        assertTrue(backend.observe().isEmpty());
    }

    @Test
    void idleEnvironmentsAreWarnedThenReleasedUnlessOptedOut() {
        var idle = new ProcessorSettings.Idle(Duration.ofMinutes(30), Duration.ofMinutes(15), 5, ProcessorSettings.Idle.Action.release);
        Processor p = processor(ProcessorSettings.defaults().withIdle(idle));
        UUID id = submit(alice, 1, "4", Reservation.Options.NONE);
        UUID optedOut = submit(bob, 1, "4", Reservation.Options.NONE);
        UUID busy = submit(bob, 1, "4", Reservation.Options.NONE);
        p.cycle();
        db.inTransaction(c -> {
            try (var st = c.prepareStatement("update reservations set idle_opt_out = true where reservation_id = ?")) {
                st.setObject(1, optedOut);
                st.executeUpdate();
            }
            return null;
        });
        backend.env(get(busy).environmentName()).utilization = 80;
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        assertTrue(notices(id).get("IDLE_WARNING.txt").contains("released in 15 minutes"));
        assertNotNull(get(id).lifecycle().idleWarnedAt());
        assertFalse(notices(optedOut).containsKey("IDLE_WARNING.txt"));
        assertFalse(notices(busy).containsKey("IDLE_WARNING.txt"), "GPUs at work are not idle");
        clock.advance(Duration.ofMinutes(15));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(get(id).history().getLast().reason().contains("idle"), get(id).history().getLast().reason());
        assertEquals(ReservationStatus.ACTIVE, get(optedOut).status());
        assertNull(get(optedOut).lifecycle().idleWarnedAt());
    }

    @Test
    void aTunnelThroughTheSshProxyIsUseEvenWhenTheBackendSeesNoSession() {
        var idle = new ProcessorSettings.Idle(Duration.ofMinutes(30), Duration.ofMinutes(15), 5, ProcessorSettings.Idle.Action.release);
        Processor p = processor(ProcessorSettings.defaults().withIdle(idle));
        UUID id = submit(alice, 1, "4", Reservation.Options.NONE);
        p.cycle();
        var to = new dev.gpudev.store.ProxySessions.Endpoint(get(id).connection().host(), get(id).connection().port());
        var sessions = new dev.gpudev.store.ProxySessions();
        db.inTransaction(c -> {
            sessions.opened(c, "s1", "proxy-a", "alice", to, clock.instant());
            return null;
        });
        clock.advance(Duration.ofMinutes(31));
        db.inTransaction(c -> {
            sessions.heartbeat(c, "proxy-a", clock.instant(), clock.instant().minus(Duration.ofMinutes(5)));
            return null;
        });
        p.cycle();
        assertFalse(notices(id).containsKey("IDLE_WARNING.txt"), "someone is connected through the proxy");
        // The proxy went away without a word: after a while its tunnels no longer count.
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        assertTrue(notices(id).containsKey("IDLE_WARNING.txt"), "a silent proxy's tunnels are not use");
    }

    @Test
    void oneMinuteIsSaidInTheSingular() {
        var idle = new ProcessorSettings.Idle(Duration.ofMinutes(1), Duration.ofMinutes(1), 5, ProcessorSettings.Idle.Action.release);
        Processor p = processor(ProcessorSettings.defaults().withIdle(idle));
        UUID id = submit(alice, 1, "4", Reservation.Options.NONE);
        p.cycle();
        clock.advance(Duration.ofSeconds(61));
        p.cycle();
        String warning = notices(id).get("IDLE_WARNING.txt");
        assertTrue(warning.contains("for 1 minute;") && warning.contains("released in 1 minute unless"), warning);
    }

    @Test
    void jupyterKeepsOnePortAndTokenForTheReservationsLife() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        send(new Command.Jupyter(id, "alice", true));
        p.cycle();
        var access = get(id).lifecycle().jupyterAccess();
        assertTrue(get(id).lifecycle().jupyter());
        assertNotNull(access);
        assertEquals(access.token(), backend.env(get(id).environmentName()).spec.jupyter().token(), "the backend runs it with that token");
        send(new Command.Jupyter(id, "alice", false));
        p.cycle();
        assertFalse(get(id).lifecycle().jupyter());
        assertNull(backend.env(get(id).environmentName()).spec.jupyter());
        send(new Command.Jupyter(id, "alice", true));
        p.cycle();
        assertEquals(access, get(id).lifecycle().jupyterAccess(), "enabled again: the same URL");
        assertTrue(get(id).history().stream().anyMatch(h -> h.reason().equals("jupyter enabled by alice")));
    }

    @Test
    void addedUsersAreRecordedOnceTheirKeysAuthorizedAndUnknownOnesRefused() {
        UUID id = submit(1, "1");
        db.inTransaction(c -> {
            var key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIUifzcmilPK8+5TRpEQudBXxO6WvN3gLbKyMYaepoDn b@t";
            new dev.gpudev.store.SshKeys().add(c, bob, "ssh-ed25519", key, dev.gpudev.core.SshPublicKey.parse(key).fingerprint(), "b@t");
            return null;
        });
        Processor p = processor();
        p.cycle();
        for (String name : List.of("bob", "bob", "nobody")) {
            send(new Command.AddUser(id, "alice", name));
        }
        p.cycle();
        assertEquals(List.of(bob), db.query(c -> new ReservationUsers().of(c, id)));
        assertEquals(1, get(id).history().stream().filter(h -> h.reason().startsWith("user bob added")).count());
        assertTrue(get(id).history().getLast().reason().contains("no user 'nobody'"));
        assertEquals(1, backend.env(get(id).environmentName()).spec.authorizedKeys().size(), "bob's key reaches the environment");
    }

    @Test
    void aNamedDiskServesOneReservationAtATime() {
        var disk = new Reservation.Options("work", false, null, Map.of());
        UUID first = submit(alice, 1, "1", disk);
        UUID second = submit(alice, 1, "1", disk);
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals("WAITING_FOR_DISK", get(second).pendingReason());
        assertEquals(get(first).expiresAt().plus(Duration.ofMinutes(1)), get(second).estimatedStart());
        var home = backend.env(get(first).environmentName()).spec.home();
        assertEquals("work", ((dev.gpudev.backend.spi.EnvironmentSpec.Home.Disk) home).disk().name());
        send(new Command.Cancel(first, "alice"));
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(second).status());
    }

    long diskOperation(String disk, String operation, String argument) {
        return db.inTransaction(c -> {
            var d = new Disks().lock(c, alice, disk).orElseThrow();
            long op = new Disks().requestOperation(c, d, operation, argument);
            commands.send(c, new Command.DiskOperation(op, "alice"));
            return op;
        });
    }

    Disks.Operation operation(long id) {
        return db.query(c -> new Disks().operation(c, alice, id)).orElseThrow();
    }

    @Test
    void aDiskIsListedByTheProcessorAndRenamedInTheDatabaseOnly() throws Exception {
        long diskId = db.inTransaction(c -> new Disks().use(c, alice, "data"));
        backend.putOnDisk(diskId, "notes.txt", "hello");
        backend.putOnDisk(diskId, "models/w.bin", "x".repeat(1234));
        long list = diskOperation("data", "list_content", null);
        Processor p = processor();
        p.cycle();
        var listed = operation(list);
        assertEquals("done", listed.status(), String.valueOf(listed.error()));
        var result = dev.gpudev.store.Json.MAPPER.readTree(listed.resultJson());
        assertEquals(1239, result.get("total_bytes").asLong());

        long rename = diskOperation("data", "rename", "archive");
        p.cycle();
        assertEquals("done", operation(rename).status(), String.valueOf(operation(rename).error()));
        var disks = db.query(c -> new Disks().forUser(c, alice));
        assertEquals(List.of("archive"), disks.stream().map(Disks.Disk::name).toList());
        assertEquals(diskId, disks.getFirst().id(), "the same disk: its files are found by id");
        assertEquals(5 + 1234, backend.listDisk(new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "archive"), 10).totalBytes());
    }

    @Test
    void aRenameOfADiskThatAReservationWantsFailsWithTheReasonAndChangesNothing() {
        submit(alice, 8, "1", new Reservation.Options("busy", false, null, Map.of()));
        long rename = diskOperation("busy", "rename", "other");
        processor().cycle();
        var op = operation(rename);
        assertEquals("failed", op.status());
        assertTrue(op.error().contains("used by a live or waiting reservation"), op.error());
        assertEquals(List.of("busy"), db.query(c -> new Disks().forUser(c, alice)).stream().map(Disks.Disk::name).toList());
        assertEquals(0, queueLength(), "a refusal is an outcome, not retried");
    }

    @Test
    void aDeletedDisksFilesGoByItsId() {
        long diskId = db.inTransaction(c -> new Disks().use(c, alice, "old"));
        backend.putOnDisk(diskId, "f", "x");
        send(new Command.DeleteDisk(diskId, "alice", "old", "alice"));
        processor().cycle();
        assertEquals(0, backend.listDisk(new dev.gpudev.backend.spi.DiskRef(diskId, alice, "alice", "old"), 10).totalBytes());
    }

    @Test
    void transitionsWriteWhatTheStateMachineSaysInOneStatement() {
        UUID id = submit(1, "1");
        Reservation failed = db.inTransaction(c -> reservations.transition(c, id, ReservationStatus.QUEUED,
                Transition.fail("the node is gone"), clock.instant())).orElseThrow();
        assertEquals(ReservationStatus.FAILED, failed.status());
        assertEquals("the node is gone", failed.failureReason());
        assertEquals("alice", failed.username());
        assertEquals(ReservationStatus.FAILED, failed.history().getLast().status());
        db.inTransaction(c -> {
            reservations.update(c, id, ReservationUpdate.of().detail("looked at"));
            return null;
        });
        assertEquals("looked at", get(id).detailedStatus());
    }

    @Test
    void aTransitionIsACompareAndSetOnTheState() {
        UUID id = submit(1, "1");
        assertTrue(db.inTransaction(c -> reservations.transition(c, id, ReservationStatus.QUEUED, Transition.cancel("by alice"),
                clock.instant())).isPresent());
        // Another step read it while queued and decides to admit it: the cancel committed first wins, nothing is written.
        var late = db.inTransaction(c -> reservations.transition(c, id, ReservationStatus.QUEUED,
                Transition.admit(Reservation.Placement.of("n0", 1)), clock.instant()));
        assertTrue(late.isEmpty());
        Reservation r = get(id);
        assertEquals(ReservationStatus.CANCELLED, r.status());
        assertEquals(2, r.history().size(), "the late admission left no entry: " + r.history());
        assertFalse(db.inTransaction(c -> reservations.note(c, id, ReservationStatus.QUEUED, "late note", clock.instant(),
                ReservationUpdate.of().detail("late"))).isPresent());
    }

    @Test
    void activationEndsTheDurationTheRowHoldsWhenItIsWritten() {
        UUID id = submit(1, "1");
        Instant now = clock.instant();
        Reservation admitted = db.inTransaction(c -> reservations.transition(c, id, ReservationStatus.QUEUED,
                Transition.admit(Reservation.Placement.of("n0", 1)), now)).orElseThrow();
        // An extension committed (by another replica) after this processor read the row as 1 hour long.
        db.inTransaction(c -> {
            reservations.update(c, id, ReservationUpdate.of().durationHours(new java.math.BigDecimal("3")));
            return null;
        });
        var running = new Reservation.Placement(List.of(new Reservation.Placement.Slice("n0", 1, List.of(0), "127.0.0.1", 2200)));
        Reservation active = db.inTransaction(c -> reservations.transition(c, id, ReservationStatus.PREPARING,
                Transition.activate(admitted, now, running, "running"), now)).orElseThrow();
        assertEquals(now.plus(Duration.ofHours(3)), active.expiresAt(), "the extension is not lost");
    }

    @Test
    void aPreemptibleReservationIsToldEndedAndItsGpusGoToTheOneWithABetterClaim() {
        UUID cheap = submit(alice, 8, "8", Reservation.Options.NONE.withPriority(dev.gpudev.core.PriorityClass.PREEMPTIBLE));
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(cheap).status(), "idle GPUs: the preemptible one runs");
        UUID needed = submit(bob, 4, "1", Reservation.Options.NONE);
        p.cycle();
        Reservation victim = get(cheap);
        assertNotNull(victim.lifecycle().preemptedAt());
        assertEquals(clock.instant().plus(Scheduler.DEFAULT_NOTICE).truncatedTo(java.time.temporal.ChronoUnit.MILLIS),
                victim.expiresAt().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), "ended after the notice");
        assertTrue(victim.history().getLast().reason().startsWith("preempted:"), victim.history().getLast().reason());
        assertTrue(notices(cheap).get(Notices.PREEMPTED).contains("home is kept"), notices(cheap).toString());
        Reservation waiting = get(needed);
        assertEquals(ReservationStatus.QUEUED, waiting.status());
        assertEquals(victim.expiresAt().plus(ProcessorSettings.defaults().grace()), waiting.estimatedStart());
        extend(cheap, "1");
        p.cycle();
        assertEquals(victim.expiresAt(), get(cheap).expiresAt(), "a preempted one is not extended");
        assertTrue(get(cheap).history().getLast().reason().contains("was preempted"), get(cheap).history().getLast().reason());
        p.cycle();
        assertEquals(victim.expiresAt(), get(cheap).expiresAt(), "decided once: not preempted again");

        clock.advance(Scheduler.DEFAULT_NOTICE.plus(ProcessorSettings.defaults().grace()));
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(cheap).status());
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(needed).status(), "the GPUs went to the one that needed them");
    }

    @Test
    void aTeamTakesBackItsGuaranteedGpusFromABorrowerWhoIsToldAndKeepsTheHome() {
        db.inTransaction(c -> {
            var teams = new dev.gpudev.store.Teams();
            teams.create(c, "ml");
            teams.addMember(c, "ml", bob, true);
            teams.guarantee(c, "ml", "h100", 8);
            return null;
        });
        UUID borrower = submit(alice, 8, "8", Reservation.Options.NONE); // alice is in no team: the idle guarantee is lent
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(borrower).status());
        UUID older = submit(alice, 8, "1", Reservation.Options.NONE);
        p.cycle();
        clock.advance(Duration.ofSeconds(1));
        UUID claim = submit(bob, 4, "1", Reservation.Options.NONE.withTeam("ml"));
        p.cycle();
        assertEquals(1, get(claim).queuePosition(), "the team's claim goes ahead of an older reservation");
        assertTrue(get(older).detailedStatus().contains("1 of those ahead is a younger reservation of a team within its guaranteed GPUs"),
                get(older).detailedStatus());
        Reservation victim = get(borrower);
        assertNotNull(victim.lifecycle().preemptedAt(), "the borrower is preempted");
        assertTrue(victim.history().getLast().reason().contains("another team takes back its guaranteed h100 GPUs"), victim.history().getLast().reason());
        assertTrue(notices(borrower).get(Notices.PREEMPTED).contains("guaranteed to another team"), notices(borrower).toString());
        assertTrue(notices(borrower).get(Notices.PREEMPTED).contains("home is kept"));
        assertEquals(victim.expiresAt().plus(ProcessorSettings.defaults().grace()), get(claim).estimatedStart());
        p.cycle();
        assertEquals(victim.expiresAt(), get(borrower).expiresAt(), "decided once");
        clock.advance(Scheduler.DEFAULT_NOTICE.plus(ProcessorSettings.defaults().grace()));
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(borrower).status());
        assertEquals(ReservationStatus.ACTIVE, get(claim).status(), "the team has its GPUs");
        assertEquals("ml", get(claim).options().team());
    }

    @Test
    void anExtensionIntoABookedWindowIsRefusedAndSaysUntilWhenItCouldGo() {
        UUID running = submit(alice, 8, "1", Reservation.Options.NONE);
        Processor p = processor();
        p.cycle();
        Instant end = get(running).expiresAt();
        Instant at = clock.instant().plus(Duration.ofHours(2));
        UUID booked = submit(bob, 8, "2", Reservation.Options.NONE.withStartAt(at));
        p.cycle();
        assertEquals("BOOKED", get(booked).pendingReason());
        extend(running, "3");
        p.cycle();
        Reservation r = get(running);
        assertEquals(end, r.expiresAt(), "not extended");
        String why = r.history().getLast().reason();
        assertTrue(why.startsWith("extension refused: a booking starts on n0 at " + at), why);
        assertTrue(why.contains("more hours"), why);
        extend(running, "0.5");
        p.cycle();
        assertEquals(end.plus(Duration.ofMinutes(30)), get(running).expiresAt(), "an extension that ends before the window is kept");
        p.cycle();
        assertEquals("BOOKED", get(booked).pendingReason(), "the booking still starts on time");
    }

    @Test
    void aWaitingReservationsDurationChangesInPlaceAndARunningOneIsToldToExtend() {
        UUID running = submit(alice, 8, "1", Reservation.Options.NONE);
        Processor p = processor();
        p.cycle();
        UUID first = submit(bob, 8, "4", Reservation.Options.NONE);
        clock.advance(Duration.ofSeconds(1));
        UUID second = submit(bob, 4, "1", Reservation.Options.NONE);
        p.cycle();
        assertEquals(1, get(first).queuePosition());
        send(new Command.Resize(first, "bob", new BigDecimal("2")));
        p.cycle();
        Reservation r = get(first);
        assertEquals(0, new BigDecimal("2").compareTo(r.durationHours()));
        assertEquals(1, r.queuePosition(), "it keeps its place");
        assertTrue(r.history().getLast().reason().startsWith("duration changed from 4 to 2 h by bob"), r.history().getLast().reason());
        assertEquals(2, get(second).queuePosition());
        send(new Command.Resize(running, "alice", new BigDecimal("3")));
        p.cycle();
        assertEquals(0, BigDecimal.ONE.compareTo(get(running).durationHours()), "a running one is not resized");
        assertTrue(get(running).history().getLast().reason().startsWith("duration change refused: it is active now"),
                get(running).history().getLast().reason());
    }

    @Test
    void aBookingStartsOnTimeAndIsNotCancelledForWaitingBeforeItsWindow() {
        Processor p = processor();
        Instant at = clock.instant().plus(Duration.ofHours(1));
        UUID booked = submit(alice, 8, "2", Reservation.Options.NONE.withStartAt(at));
        UUID farAhead = submit(bob, 1, "1", Reservation.Options.NONE.withStartAt(clock.instant().plus(Duration.ofDays(5))));
        p.cycle();
        assertEquals(ReservationStatus.QUEUED, get(booked).status(), "free GPUs, but not before its start");
        assertEquals("BOOKED", get(booked).pendingReason());
        assertTrue(get(booked).detailedStatus().startsWith("booked: its GPUs are kept for it from " + at), get(booked).detailedStatus());
        UUID meanwhile = submit(bob, 8, "2", Reservation.Options.NONE); // would overrun the window: waits until after it
        p.cycle();
        assertEquals(ReservationStatus.QUEUED, get(meanwhile).status());
        assertEquals(at.plus(Duration.ofHours(2)).plus(ProcessorSettings.defaults().grace()), get(meanwhile).estimatedStart());
        clock.advance(Duration.ofHours(1));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(booked).status(), "on time");
        clock.advance(Duration.ofHours(49));
        p.cycle();
        assertEquals(ReservationStatus.QUEUED, get(farAhead).status(), "waiting for its window is not waiting too long");
    }
}
