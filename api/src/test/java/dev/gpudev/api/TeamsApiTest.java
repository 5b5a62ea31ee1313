package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Teams over the API: admins manage them; a reservation is charged to one of the caller's teams; caps; who sees what. */
class TeamsApiTest {
    static ApiFixture f;
    static String admin;
    static String alice;
    static String bob;
    static String carol;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        admin = f.admin();
        alice = f.newUser("alice");
        bob = f.newUser("bob");
        carol = f.newUser("carol");
        assertEquals(201, f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"ml\",\"share\":2}").status());
        assertEquals(201, f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"cv\"}").status());
        assertEquals(200, f.call("POST", "/v1/admin/teams/ml/members", admin, "{\"user\":\"alice\"}").status());
        assertEquals(200, f.call("POST", "/v1/admin/teams/ml/members", admin, "{\"user\":\"carol\"}").status());
        assertEquals(200, f.call("POST", "/v1/admin/teams/cv/members", admin, "{\"user\":\"carol\"}").status());
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String submit(String team) {
        return "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1" + (team == null ? "" : ",\"team\":\"" + team + "\"") + "}";
    }

    @Test
    void aReservationIsChargedToTheCallersTeamAndOnlyToOneTheyAreIn() throws Exception {
        var mine = f.call("POST", "/v1/jobs/submit", alice, submit(null));
        assertEquals(201, mine.status(), mine.raw());
        assertEquals("ml", mine.body().get("team").asText(), "her only team");
        assertEquals("ml", f.call("GET", "/v1/jobs/" + mine.body().get("job_id").asText(), alice, null).body().get("team").asText());
        var notMine = f.call("POST", "/v1/jobs/submit", alice, submit("cv"));
        assertEquals(403, notMine.status());
        assertTrue(notMine.body().get("message").asText().contains("not a member of team 'cv' (your teams: ml)"), notMine.raw());
        var none = f.call("POST", "/v1/jobs/submit", bob, submit(null));
        assertEquals(201, none.status());
        assertTrue(none.body().get("team").isNull(), "bob is in no team");
        var which = f.call("POST", "/v1/jobs/submit", carol, submit(null));
        assertEquals(400, which.status());
        assertTrue(which.body().get("message").asText().contains("several teams (cv, ml)"), which.raw());
        assertEquals("cv", f.call("POST", "/v1/jobs/submit", carol, submit("cv")).body().get("team").asText());
        f.call("POST", "/v1/admin/teams/ml/members", admin, "{\"user\":\"carol\",\"default\":true}");
        assertEquals("ml", f.call("POST", "/v1/jobs/submit", carol, submit(null)).body().get("team").asText(), "her default now");
        var dry = f.call("POST", "/v1/jobs/submit", alice, submit("cv").replace("}", ",\"dry_run\":true}"));
        assertEquals(403, dry.status(), "a dry run is checked alike");
    }

    @Test
    void adminsSetGuaranteesAndCapsWithClearErrors() throws Exception {
        var set = f.call("POST", "/v1/admin/teams/cv", admin, "{\"guaranteed_gpus\":{\"H100\":4},\"max_waiting\":1}");
        assertEquals(200, set.status(), set.raw());
        assertEquals(4, set.body().get("guaranteed_gpus").get("h100").asInt());
        var waiting = f.call("POST", "/v1/jobs/submit", bob, submit(null)).body().get("job_id").asText();
        var note = f.call("GET", "/v1/jobs/" + waiting, bob, null).body().get("estimate_note").asText();
        assertTrue(note.contains("other teams' reservations within their guaranteed h100 GPUs"), "a guarantee can move it: " + note);
        var over = f.call("POST", "/v1/admin/teams/ml", admin, "{\"guaranteed_gpus\":{\"h100\":6}}");
        assertTrue(over.body().get("warning").asText().contains("10 h100 GPUs in all but there are 8"), over.raw());
        f.call("POST", "/v1/admin/teams/ml", admin, "{\"guaranteed_gpus\":{\"h100\":0}}");
        List<String> errors = new ArrayList<>();
        for (String bad : List.of("{\"guaranteed_gpus\":{\"h100\":-1}}", "{\"guaranteed_gpus\":{\"a100\":1}}", "{\"guaranteed_gpus\":[1]}",
                "{\"share\":-2}", "{\"max_waiting\":\"x\"}", "{\"colour\":\"red\"}")) {
            var r = f.call("POST", "/v1/admin/teams/cv", admin, bad);
            assertEquals(400, r.status(), bad + " → " + r.raw());
            errors.add(r.body().get("message").asText());
        }
        assertTrue(errors.get(1).contains("this cluster has no a100 GPUs (it has h100)"), errors.get(1));
        assertEquals(409, f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"cv\"}").status());
        assertEquals(400, f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"../etc\"}").status());
        assertEquals(404, f.call("POST", "/v1/admin/teams/nope", admin, "{\"share\":1}").status());
        assertEquals(404, f.call("POST", "/v1/admin/teams/cv/members", admin, "{\"user\":\"nobody\"}").status());
        assertEquals(404, f.call("DELETE", "/v1/admin/teams/cv/members/bob", admin, null).status(), "bob is not in cv");
        assertEquals(4, f.call("GET", "/v1/teams", admin, null).body().get("teams").get(0).get("guaranteed_gpus").get("h100").asInt(),
                "the bad requests lost nothing");

        // the cap: cv may have one reservation waiting (none start here: there is no processor)
        assertEquals(201, f.call("POST", "/v1/jobs/submit", carol, submit("cv")).status());
        var second = f.call("POST", "/v1/jobs/submit", carol, submit("cv"));
        assertEquals(429, second.status(), second.raw());
        assertTrue(second.body().get("message").asText().startsWith("team cv has"), second.raw());
        f.call("POST", "/v1/admin/teams/cv", admin, "{\"max_waiting\":0}");
        assertEquals(201, f.call("POST", "/v1/jobs/submit", carol, submit("cv")).status(), "0: no cap");
    }

    @Test
    void membersSeeTheirTeamsAndTheirTeamsUsageOthersDoNot() throws Exception {
        var teams = f.call("GET", "/v1/teams", alice, null).body().get("teams");
        assertEquals(1, teams.size());
        assertEquals("ml", teams.get(0).get("name").asText());
        assertTrue(teams.get(0).get("mine").asBoolean());
        assertEquals(0, f.call("GET", "/v1/teams", bob, null).body().get("teams").size(), "bob is in no team: he sees none");
        assertTrue(f.call("GET", "/v1/teams", admin, null).body().get("teams").size() >= 2);

        var usage = f.call("GET", "/v1/usage?team=ml", alice, null);
        assertEquals(200, usage.status(), usage.raw());
        assertEquals("ml", usage.body().get("team").asText());
        assertTrue(usage.body().get("members").toString().contains("alice"));
        assertEquals(403, f.call("GET", "/v1/usage?team=ml", bob, null).status());
        assertEquals(200, f.call("GET", "/v1/usage?team=ml", admin, null).status());
        assertEquals(404, f.call("GET", "/v1/usage?team=ghosts", admin, null).status());
        var own = f.call("GET", "/v1/usage", alice, null).body();
        assertEquals("ml", own.get("teams").get(0).asText());
        assertFalse(own.get("fair_share").get("explained").asText().isEmpty());
    }
}
