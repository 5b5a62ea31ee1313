package dev.gpudev.api;

import dev.gpudev.core.BatchRun;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Transition;
import dev.gpudev.store.Reservations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch runs through the API: the command checked and stored, shown to its owner, its end and output given back. */
class RunApiTest {
    static ApiFixture f;
    static String alice;
    static String bob;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        alice = f.newUser("alice");
        bob = f.newUser("bob");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String submit(String run) {
        return "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"run\":" + run + "}";
    }

    @Test
    void aRunIsStoredAndItsCommandShownToItsOwnerOnly() throws Exception {
        var made = f.call("POST", "/v1/jobs/submit", alice, submit("{\"command\":[\"python\",\"train.py\",\"--token=s3cret\"],\"workdir\":\"proj\"}"));
        assertEquals(201, made.status(), made.raw());
        var run = made.body().get("run");
        assertEquals("python train.py --token=s3cret", run.get("command_line").asText());
        assertEquals("proj", run.get("workdir").asText());
        assertFalse(run.get("keep").asBoolean());
        assertEquals("waiting", run.get("state").asText());
        assertTrue(run.get("log").asText().matches("~/\\.gpudev/runs/gpudev-[0-9a-f]{20}\\.log"), run.get("log").asText());
        assertTrue(made.body().get("exit_code").isNull());
        String id = made.body().get("job_id").asText();
        var asAdmin = f.call("GET", "/v1/jobs/" + id, f.admin(), null);
        assertEquals(200, asAdmin.status());
        assertFalse(asAdmin.raw().contains("s3cret"), "its words may hold secrets: " + asAdmin.raw());
        assertEquals("waiting", asAdmin.body().get("run").get("state").asText());
        var logs = f.call("GET", "/v1/jobs/" + id + "/logs", alice, null);
        assertEquals(200, logs.status(), logs.raw());
        assertTrue(logs.body().get("tail").isNull(), "nothing kept before it ends");
        assertEquals(404, f.call("GET", "/v1/jobs/" + id + "/logs", bob, null).status());
    }

    @Test
    void aRunThatEndedGivesItsCodeAndTheEndOfItsOutput() throws Exception {
        UUID id = f.active(alice, submit("{\"command\":[\"./train.sh\"]}"), 1);
        // the processor records the end as it does when the backend saw the command exit
        var outcome = new BatchRun.Outcome(3, f.clock.instant());
        f.db.inTransaction(c -> new Reservations().transition(c, id, ReservationStatus.ACTIVE, Transition.runEnded(outcome, "step 1\nboom\n"),
                f.clock.instant()));
        var job = f.call("GET", "/v1/jobs/" + id, alice, null);
        assertEquals("failed", job.body().get("status").asText());
        assertEquals(3, job.body().get("exit_code").asInt());
        assertEquals("the command failed (exit 3)", job.body().get("failure_reason").asText());
        assertEquals("failed (exit 3)", job.body().get("run").get("state").asText());
        var logs = f.call("GET", "/v1/jobs/" + id + "/logs", alice, null);
        assertEquals("step 1\nboom\n", logs.body().get("tail").asText());
        UUID plain = f.activeReservation(alice, "plain");
        var notRun = f.call("GET", "/v1/jobs/" + plain + "/logs", alice, null);
        assertEquals(400, notRun.status(), "not a run: " + notRun.raw());
        assertTrue(notRun.body().get("message").asText().contains("not a batch run"), notRun.raw());
    }

    @Test
    void aRunThatExitedZeroExpiresAndKeepsItsOutput() throws Exception {
        UUID id = f.active(alice, submit("{\"command\":[\"sh\",\"-c\",\"echo hi\"]}"), 1);
        f.db.inTransaction(c -> new Reservations().transition(c, id, ReservationStatus.ACTIVE,
                Transition.runEnded(new BatchRun.Outcome(0, f.clock.instant()), "hi\n"), f.clock.instant()));
        assertEquals("expired", f.call("GET", "/v1/jobs/" + id, alice, null).body().get("status").asText(), "it ran its course");
        var logs = f.call("GET", "/v1/jobs/" + id + "/logs", alice, null);
        assertEquals(200, logs.status(), logs.raw());
        assertEquals("hi\n", logs.body().get("tail").asText());
        assertEquals(0, logs.body().get("exit_code").asInt());
        assertEquals("exited 0", logs.body().get("run_state").asText());
        assertEquals(200, f.call("GET", "/v1/jobs/" + id + "/logs", f.admin(), null).status(), "admins help with a failed run");
    }

    @Test
    void aBadRunIsRefusedSayingWhat() throws Exception {
        assertRefused("[\"python\"]", "run must be an object");
        assertRefused("{\"command\":\"python train.py\"}", "run.command must be a list");
        assertRefused("{\"command\":[]}", "a command is needed");
        assertRefused("{\"command\":[1]}", "run.command must hold text only");
        assertRefused("{\"command\":[\"x\"],\"workdir\":\"../etc\"}", "must be a folder name");
        assertRefused("{\"command\":[\"x\"],\"workdir\":\"a/b\"}", "must be a folder name");
        assertRefused("{\"command\":[\"x\"],\"shell\":true}", "shell");
        var scratch = f.call("POST", "/v1/jobs/submit", alice, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,"
                + "\"no_persist\":true,\"run\":{\"command\":[\"x\"]}}");
        assertEquals(400, scratch.status(), "its log and its record live in its home: " + scratch.raw());
        assertTrue(scratch.body().get("message").asText().contains("cannot have a scratch home"), scratch.raw());
        assertRefused("{\"command\":[\"" + "y".repeat(40_000) + "\"]}", "at most 32768");
    }

    private static void assertRefused(String run, String says) throws Exception {
        var r = f.call("POST", "/v1/jobs/submit", alice, submit(run));
        assertEquals(400, r.status(), run + ": " + r.raw());
        assertTrue(r.body().get("message").asText().contains(says), run + ": " + r.raw());
    }
}
