package dev.gpudev.processor;

import com.sun.net.httpserver.HttpServer;
import dev.gpudev.core.Command;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.WebhookPolicy;
import dev.gpudev.store.Webhooks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Notifications: recorded with the change that causes them, delivered off the loop, retried, and never to an internal address unasked. */
class WebhookSenderTest extends ProcessorFixture {
    HttpServer receiver;
    final List<String> received = new CopyOnWriteArrayList<>();
    volatile int answer = 200;
    final Webhooks webhooks = new Webhooks();

    @BeforeEach
    void listen() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/drip", ex -> { // answers, then never finishes its body
            ex.sendResponseHeaders(200, 0);
            ex.getResponseBody().write('x');
            ex.getResponseBody().flush();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        receiver.createContext("/hook", ex -> {
            received.add(new String(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(answer, -1);
            ex.close();
        });
        receiver.start();
    }

    @AfterEach
    void stopListening() {
        receiver.stop(0);
    }

    String url() {
        return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
    }

    Processor processor(WebhookPolicy policy) {
        return processor(ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline()).withWebhooks(policy));
    }

    @Test
    void startedAndEndedReachTheOwnersHookInSlacksForm() throws Exception {
        db.inTransaction(c -> webhooks.add(c, alice, url(), "slack"));
        UUID id = submit(1, "1");
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        assertEquals(1, p.webhooks().deliverDue());
        assertEquals(1, received.size());
        assertTrue(received.getFirst().startsWith("{\"text\":\"gpudev: " + id.toString().substring(0, 8) + " (1 × h100) is active until"),
                received.getFirst());
        assertTrue(received.getFirst().contains("or ssh " + get(id).environmentName() + " (after gpu-dev ssh-config)"), "the SSH command: "
                + received.getFirst());
        send(new Command.Cancel(id, "alice"));
        p.cycle();
        p.webhooks().deliverDue();
        assertTrue(received.get(1).contains("ended: cancelled"), received.toString());
        assertEquals(0, p.webhooks().deliverDue(), "each once");
        assertTrue(db.query(c -> webhooks.deliveries(c, id)).stream().allMatch(Webhooks.Delivery::sent));
    }

    @Test
    void aBatchRunsHookHearsWhereItsOutputIsAndItsExitCode() throws Exception {
        db.inTransaction(c -> webhooks.add(c, alice, url(), "json"));
        UUID id = submit(alice, 1, "1", dev.gpudev.core.Reservation.Options.NONE.withRun(
                new dev.gpudev.core.BatchRun(List.of("python", "train.py"), null, false)));
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        p.webhooks().deliverDue();
        assertTrue(received.getFirst().contains("Its output: gpu-dev logs " + id.toString().substring(0, 8) + " -f"), received.getFirst());
        backend.env(get(id).environmentName()).runEnd = new dev.gpudev.backend.spi.Observed.RunEnd(3, "boom");
        p.cycle();
        p.webhooks().deliverDue();
        assertTrue(received.get(1).contains("ended: failed (the command failed (exit 3))") && received.get(1).contains("\"exit_code\":3"),
                received.get(1));
    }

    @Test
    void aTeamsHookHearsOfEveryReservationChargedToTheTeamAndNoOther() throws Exception {
        var teams = new dev.gpudev.store.Teams();
        db.inTransaction(c -> {
            teams.create(c, "vision");
            teams.addMember(c, "vision", alice, true);
            return webhooks.add(c, bob, "vision", url(), "slack"); // registered by bob: who registers is not who hears
        });
        UUID charged = submit(alice, 1, "1", dev.gpudev.core.Reservation.Options.NONE.withTeam("vision"));
        UUID own = submit(alice, 1, "1", dev.gpudev.core.Reservation.Options.NONE);
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        p.webhooks().deliverDue();
        assertEquals(1, received.size(), received.toString());
        assertTrue(received.getFirst().contains(charged.toString().substring(0, 8) + " (1 × h100) is active"), received.getFirst());
        clock.advance(Duration.ofMinutes(30).plusSeconds(1));
        p.cycle();
        p.webhooks().deliverDue();
        assertEquals(2, received.size(), received.toString());
        assertTrue(received.get(1).contains("expires in 30 minutes"), "the sweeper's warnings too: " + received.get(1));
        assertTrue(db.query(c -> webhooks.deliveries(c, own)).isEmpty(), "a reservation charged to no team is not the team's");
    }

    @Test
    void aFailedDeliveryIsTriedAgainLaterAndAnInternalAddressIsNeverTriedUnlessAllowed() throws Exception {
        db.inTransaction(c -> webhooks.add(c, alice, url(), "json"));
        UUID id = submit(1, "1");
        Processor open = processor(WebhookPolicy.anyPublicHost());
        open.cycle();
        open.cycle();
        open.webhooks().deliverDue();
        assertTrue(received.isEmpty(), "127.0.0.1 was not allowed by name: nothing sent there");
        var refused = db.query(c -> webhooks.deliveries(c, id)).getFirst();
        assertFalse(refused.sent());
        assertTrue(refused.lastError().contains("does not resolve to a public address") || refused.lastError().contains("only ports 80 and 443"),
                refused.lastError());
        clock.advance(Duration.ofHours(1));
        assertEquals(0, open.webhooks().deliverDue(), "given up: not tried again");

        Processor allowed = processor(new WebhookPolicy(List.of("127.0.0.1")));
        answer = 503;
        send(new Command.Cancel(id, "alice"));
        allowed.cycle();
        allowed.webhooks().deliverDue();
        assertEquals(1, received.size());
        assertTrue(received.getFirst().contains("\"event\":\"ended\"") && received.getFirst().contains("\"job_id\":\"" + id + "\""),
                received.getFirst());
        answer = 200;
        assertEquals(0, allowed.webhooks().deliverDue(), "not before its retry");
        clock.advance(WebhookSender.RETRIES.getFirst());
        assertEquals(1, allowed.webhooks().deliverDue(), "tried again");
        assertEquals(2, received.size());
        assertTrue(db.query(c -> webhooks.deliveries(c, id)).getLast().sent());
    }

    @Test
    void theThirtyAndFiveMinuteWarningsAreSentButNotTheFifteen() throws Exception {
        db.inTransaction(c -> webhooks.add(c, alice, url(), "slack"));
        UUID id = submit(1, "1");
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        p.cycle();
        p.webhooks().deliverDue(); // started
        for (int left : new int[]{30, 15, 5}) {
            clock.advance(Duration.between(clock.instant(), get(id).expiresAt().minus(Duration.ofMinutes(left))));
            p.cycle();
            p.webhooks().deliverDue();
        }
        assertEquals(3, received.size(), received.toString());
        assertTrue(received.get(1).contains("expires in 30 minutes"), received.get(1));
        assertTrue(received.get(2).contains("expires in 5 minutes") && received.get(2).contains("--extend HOURS"), received.get(2));
    }

    @Test
    void aReservationWaitingPastItsFirstEstimateIsToldOnce() throws Exception {
        db.inTransaction(c -> webhooks.add(c, bob, url(), "slack"));
        UUID holder = submit(alice, 8, "1", dev.gpudev.core.Reservation.Options.NONE);
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        UUID waiting = submit(bob, 8, "1", dev.gpudev.core.Reservation.Options.NONE);
        p.cycle();
        var first = get(waiting).estimatedStart();
        send(new Command.Extend(holder, "alice", new java.math.BigDecimal("2"))); // it will start later than bob was told
        p.cycle();
        clock.advance(Duration.between(clock.instant(), first.plus(WebhookSender.LATE_MARGIN).plusSeconds(1)));
        p.cycle();
        assertEquals(ReservationStatus.QUEUED, get(waiting).status());
        p.webhooks().deliverDue();
        assertEquals(1, received.size(), received.toString());
        assertTrue(received.getFirst().contains("still waits: it was first expected to start at"), received.getFirst());
        clock.advance(Duration.ofMinutes(2));
        p.webhooks().deliverDue();
        assertEquals(1, received.size(), "told once");
    }

    @Test
    void aReceiverThatDripsItsAnswerIsCutOffAndHoldsUpNoOne() throws Exception {
        String drip = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/drip";
        db.inTransaction(c -> webhooks.add(c, alice, drip, "json"));
        db.inTransaction(c -> webhooks.add(c, bob, url(), "json"));
        UUID a = submit(alice, 1, "1", dev.gpudev.core.Reservation.Options.NONE);
        UUID b = submit(bob, 1, "1", dev.gpudev.core.Reservation.Options.NONE);
        Processor p = processor(new WebhookPolicy(List.of("127.0.0.1")));
        p.cycle();
        p.cycle();
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> p.webhooks().deliverDue(),
                "the round ends: the drip is cut off at the deadline");
        assertEquals(1, received.size(), "bob's hook heard its event");
        var cut = db.query(c -> webhooks.deliveries(c, a)).getFirst();
        assertFalse(cut.sent());
        assertEquals("no answer within 5 s", cut.lastError());
        assertTrue(db.query(c -> webhooks.deliveries(c, b)).getFirst().sent());
    }
}
