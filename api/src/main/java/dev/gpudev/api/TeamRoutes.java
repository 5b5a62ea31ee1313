package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Names;
import dev.gpudev.store.Database;
import dev.gpudev.store.Teams;
import dev.gpudev.store.Users;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Teams: anyone sees the teams they are in (admins all of them); admins make and remove teams, set their
 * share, caps and guaranteed GPUs, and their members.
 */
final class TeamRoutes {
    private static final Logger log = LoggerFactory.getLogger(TeamRoutes.class);
    private final Database db;
    private final Users users;
    private final Teams teams;
    private final TeamChoice choice;
    private final CapacityView capacity;

    TeamRoutes(Database db, Users users, Teams teams, TeamChoice choice, CapacityView capacity) {
        this.db = db;
        this.users = users;
        this.teams = teams;
        this.choice = choice;
        this.capacity = capacity;
    }

    void register(Router r) {
        r.get("/v1/teams", Access.USER, this::list);
        r.post("/v1/admin/teams", Access.ADMIN, this::create);
        r.post("/v1/admin/teams/{name}", Access.ADMIN, this::update);
        r.delete("/v1/admin/teams/{name}", Access.ADMIN, this::delete);
        r.post("/v1/admin/teams/{name}/members", Access.ADMIN, this::addMember);
        r.delete("/v1/admin/teams/{name}/members/{user}", Access.ADMIN, this::removeMember);
    }

    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        List<Teams.Team> all = db.query(teams::all);
        List<Map<String, Object>> out = all.stream()
                .filter(t -> who.admin() || t.members().stream().anyMatch(m -> m.userId() == who.userId()))
                .map(t -> view(t, who)).toList();
        ctx.json(Map.of("teams", out));
    }

    static Map<String, Object> view(Teams.Team t, Caller who) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.name());
        m.put("share", t.share());
        m.put("max_waiting", t.maxWaiting());
        m.put("max_waiting_gpu_hours", t.maxWaitingGpuHours());
        m.put("guaranteed_gpus", t.guarantees());
        m.put("members", t.members().stream().map(x -> Map.of("user", x.username(), "default", x.isDefault())).toList());
        m.put("mine", t.members().stream().anyMatch(x -> x.userId() == who.userId()));
        return m;
    }

    private static String name(String raw) {
        return Names.check("team", raw);
    }

    private void create(Context ctx) {
        Caller who = Callers.of(ctx);
        JsonNode body = Bodies.only(Bodies.json(ctx), "name", "share", "max_waiting", "max_waiting_gpu_hours");
        String name = name(Bodies.string(body, "name", true, 63));
        Settings s = settings(body);
        boolean made = db.inTransaction(c -> {
            if (!teams.create(c, name)) {
                return false;
            }
            teams.update(c, name, s.share(), s.maxWaiting(), s.maxWaitingGpuHours());
            return true;
        });
        if (!made) {
            throw new ApiError(409, "conflict", "a team named '" + name + "' exists");
        }
        choice.forget();
        Audit.target(ctx, "team", name);
        log.info("admin '{}' made team '{}'", who.username(), name);
        ctx.status(201).json(view(db.query(c -> teams.find(c, name)).orElseThrow(), who));
    }

    private record Settings(Double share, Integer maxWaiting, Integer maxWaitingGpuHours) {
    }

    private static Settings settings(JsonNode body) {
        Double share = null;
        if (body.has("share")) {
            var v = body.get("share");
            if (!v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() <= 1000)) {
                throw ApiError.badRequest("share must be a number from 0 to 1000 (1 is every team's default)");
            }
            share = v.asDouble();
        }
        return new Settings(share, cap(body, "max_waiting"), cap(body, "max_waiting_gpu_hours"));
    }

    private static Integer cap(JsonNode body, String field) {
        Integer v = Bodies.integer(body, field, false);
        if (v != null && (v < 0 || v > 1_000_000)) {
            throw ApiError.badRequest(field + " must be 0 (no cap) to 1000000");
        }
        return v;
    }

    private void update(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = name(ctx.pathParam("name"));
        JsonNode body = Bodies.only(Bodies.json(ctx), "share", "max_waiting", "max_waiting_gpu_hours", "guaranteed_gpus");
        Settings s = settings(body);
        Map<String, Integer> guarantees = new LinkedHashMap<>();
        JsonNode g = body.get("guaranteed_gpus");
        if (g != null && !g.isNull()) {
            if (!g.isObject() || g.size() > 32) {
                throw ApiError.badRequest("guaranteed_gpus is an object of GPU type to a number of GPUs, like {\"h100\": 8}");
            }
            var types = capacity.current().nodes().stream().map(dev.gpudev.core.Capacity.Node::gpuType).distinct().sorted().toList();
            g.fields().forEachRemaining(e -> {
                String type = e.getKey().toLowerCase(java.util.Locale.ROOT);
                if (!type.matches("[a-z0-9][a-z0-9-]{0,31}")) {
                    throw ApiError.badRequest("guaranteed_gpus: '" + Names.shown(e.getKey()) + "' is not a GPU type");
                }
                if (!types.isEmpty() && !types.contains(type)) {
                    throw ApiError.badRequest("guaranteed_gpus: this cluster has no " + type + " GPUs (it has " + String.join(", ", types) + ")");
                }
                if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt() || e.getValue().asInt() < 0 || e.getValue().asInt() > 100_000) {
                    throw ApiError.badRequest("guaranteed_gpus: " + type + " must be a whole number of GPUs (0 removes the guarantee)");
                }
                guarantees.put(type, e.getValue().asInt());
            });
        }
        boolean found = db.inTransaction(c -> {
            if (!teams.update(c, name, s.share(), s.maxWaiting(), s.maxWaitingGpuHours())) {
                return false;
            }
            for (var e : guarantees.entrySet()) {
                teams.guarantee(c, name, e.getKey(), e.getValue());
            }
            return true;
        });
        if (!found) {
            throw ApiError.notFound("no team '" + name + "'");
        }
        choice.forget();
        Audit.target(ctx, "team", name);
        log.info("admin '{}' changed team '{}'", who.username(), name);
        var team = db.query(c -> teams.find(c, name)).orElseThrow();
        Map<String, Object> out = view(team, who);
        String warning = overcommitted(team);
        if (warning != null) {
            out.put("warning", warning);
        }
        ctx.json(out);
    }

    /** Guarantees of a type beyond the GPUs there are: each team is guaranteed less than it was told. */
    private String overcommitted(Teams.Team changed) {
        var cap = capacity.current();
        List<Teams.Team> all = db.query(teams::all);
        for (String type : changed.guarantees().keySet()) {
            int total = cap.totalGpus(type);
            int promised = all.stream().mapToInt(t -> t.guarantees().getOrDefault(type, 0)).sum();
            if (total > 0 && promised > total) {
                return "teams are guaranteed " + promised + " " + type + " GPUs in all but there are " + total
                        + ": a team asking for its guarantee may wait for another team's guaranteed reservations to end";
            }
        }
        return null;
    }

    private void delete(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = name(ctx.pathParam("name"));
        if (!db.inTransaction(c -> teams.delete(c, name))) {
            throw ApiError.notFound("no team '" + name + "'");
        }
        choice.forget();
        Audit.target(ctx, "team", name);
        log.info("admin '{}' removed team '{}'", who.username(), name);
        ctx.json(Map.of("name", name, "deleted", true));
    }

    private void addMember(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = name(ctx.pathParam("name"));
        JsonNode body = Bodies.only(Bodies.json(ctx), "user", "default");
        String user = Names.check("user", Bodies.string(body, "user", true, 255));
        boolean makeDefault = Bodies.bool(body, "default");
        db.inTransaction(c -> {
            long id = users.findByName(c, user).orElseThrow(() -> ApiError.notFound("no user '" + user + "'")).userId();
            if (!teams.addMember(c, name, id, makeDefault)) {
                throw ApiError.notFound("no team '" + name + "'");
            }
            return null;
        });
        choice.forget();
        Audit.target(ctx, "team", name + " member " + user);
        log.info("admin '{}' added '{}' to team '{}'", who.username(), user, name);
        ctx.json(view(db.query(c -> teams.find(c, name)).orElseThrow(), who));
    }

    private void removeMember(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = name(ctx.pathParam("name"));
        String user = Names.check("user", ctx.pathParam("user"));
        boolean removed = db.inTransaction(c -> {
            var u = users.findByName(c, user);
            if (u.isEmpty() || !teams.removeMember(c, name, u.get().userId())) {
                return false;
            }
            // the team's hooks they registered go with them: the team's events no longer reach a URL of an ex-member's
            new dev.gpudev.store.Webhooks().removeTeamHooksOf(c, name, u.get().userId());
            return true;
        });
        if (!removed) {
            throw ApiError.notFound("'" + user + "' is not a member of team '" + name + "'");
        }
        choice.forget();
        Audit.target(ctx, "team", name + " member " + user);
        log.info("admin '{}' removed '{}' from team '{}'", who.username(), user, name);
        ctx.json(view(db.query(c -> teams.find(c, name)).orElseThrow(), who));
    }
}
