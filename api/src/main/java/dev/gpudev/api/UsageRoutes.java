package dev.gpudev.api;

import dev.gpudev.core.FairShare;
import dev.gpudev.core.Names;
import dev.gpudev.store.Database;
import dev.gpudev.store.GpuHours;
import dev.gpudev.store.Users;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPU usage and fair share: a user's GPU-hours by type and by day, and where they stand in the queue's
 * fair share (their own; an admin's, anyone's); an admin sets a user's share.
 */
final class UsageRoutes {
    private static final Logger log = LoggerFactory.getLogger(UsageRoutes.class);
    private final Database db;
    private final Users users;
    private final GpuHours gpuHours;
    private final FairShare.Policy policy;
    private final Clock clock;
    private final TeamChoice teams;

    UsageRoutes(Database db, Users users, GpuHours gpuHours, FairShare.Policy policy, Clock clock, TeamChoice teams) {
        this.teams = teams;
        this.db = db;
        this.users = users;
        this.gpuHours = gpuHours;
        this.policy = policy;
        this.clock = clock;
    }

    void register(Router r) {
        r.get("/v1/usage", Access.USER, this::usage);
        r.post("/v1/admin/users/{name}/share", Access.ADMIN, this::setShare);
    }

    private void usage(Context ctx) {
        Caller who = Callers.of(ctx);
        if (ctx.queryParam("team") != null) {
            teamUsage(ctx, who, Names.check("team", ctx.queryParam("team")));
            return;
        }
        String name = ctx.queryParam("user") == null ? who.username() : Names.check("user", ctx.queryParam("user"));
        if (!name.equals(who.username()) && !who.admin()) {
            throw new ApiError(403, "forbidden", "only an admin may see another user's usage");
        }
        int days = Params.boundedInt(sinceDays(ctx.queryParam("since")), 30, 1, 366, "since (days)");
        Instant now = clock.instant();
        Instant since = now.minus(Duration.ofDays(days));
        Map<String, Object> out = db.query(c -> {
            long userId = users.findByName(c, name).orElseThrow(() -> ApiError.notFound("no user '" + name + "'")).userId();
            var report = UsageReport.of(gpuHours.of(c, userId, since, now), since, now);
            var memberships = teams.of(userId);
            String team = TeamChoice.defaultTeam(memberships);
            var standing = gpuHours.standings(c, policy, now).standing(userId, team);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("user", name);
            m.put("teams", memberships.stream().map(dev.gpudev.store.Teams.Membership::team).toList());
            Map<String, Object> fs = new LinkedHashMap<>();
            if (team != null) {
                fs.put("team", team);
            }
            return report(m, since, now, report, fs, standing, explain(standing, policy));
        });
        ctx.json(out);
    }

    /** A user's or a team's report: after what names whose it is, the GPU-hours, then the fair-share standing. */
    private Map<String, Object> report(Map<String, Object> m, Instant since, Instant until, UsageReport report, Map<String, Object> fs,
                                       FairShare.Standing standing, String explained) {
        m.put("since", since);
        m.put("until", until);
        m.put("gpu_hours", UsageReport.rounded(report.total()));
        Map<String, Object> byType = new LinkedHashMap<>();
        report.byType().forEach((t, h) -> byType.put(t, UsageReport.rounded(h)));
        m.put("gpu_hours_by_type", byType);
        m.put("daily", daily(report));
        fs.put("decayed_gpu_hours", UsageReport.rounded(standing.usedGpuHours()));
        fs.put("half_life_hours", policy.halfLife().toHours());
        fs.put("share", round4(standing.share()));
        fs.put("usage_share", round4(standing.usageShare()));
        fs.put("factor", round4(standing.factor()));
        fs.put("weight_hours", policy.weightHours());
        fs.put("explained", explained);
        m.put("fair_share", fs);
        return m;
    }

    private static List<Map<String, Object>> daily(UsageReport report) {
        return report.byDay().entrySet().stream().map(e -> {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("date", e.getKey().toString());
            Map<String, Object> types = new LinkedHashMap<>();
            e.getValue().forEach((t, h) -> types.put(t, UsageReport.rounded(h)));
            d.put("gpu_hours", types);
            return d;
        }).toList();
    }

    /** A team's GPU-hours (what was charged to it) and its standing as a whole: for its members and admins. */
    private void teamUsage(Context ctx, Caller who, String team) {
        if (!who.admin() && teams.of(who.userId()).stream().noneMatch(m -> m.team().equals(team))) {
            throw new ApiError(403, "forbidden", "only the team's members and admins may see a team's usage");
        }
        var t = teams.team(team).orElseThrow(() -> ApiError.notFound("no team '" + team + "'"));
        int days = Params.boundedInt(sinceDays(ctx.queryParam("since")), 30, 1, 366, "since (days)");
        Instant now = clock.instant();
        Instant since = now.minus(Duration.ofDays(days));
        Map<String, Object> out = db.query(c -> {
            var report = UsageReport.of(gpuHours.ofTeam(c, team, since, now), since, now);
            var standing = gpuHours.standings(c, policy, now).team(team);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("team", team);
            m.put("members", t.members().stream().map(dev.gpudev.store.Teams.Member::username).toList());
            m.put("guaranteed_gpus", t.guarantees());
            return report(m, since, now, report, new LinkedHashMap<>(), standing, policy.weightHours() == 0
                    ? "fair share is off: the queue is first come, first served"
                    : String.format(java.util.Locale.ROOT, "the team used %.0f%% of the GPU time lately with a %.0f%% share of the platform;"
                    + " each member's priority also carries the team's use, by their part of the team", standing.usageShare() * 100,
                    standing.share() * 100));
        });
        ctx.json(out);
    }

    /** "30d", "30" or "720h" as days (at least 1); null for the default. */
    private static String sinceDays(String raw) {
        if (raw == null || raw.isBlank()) {
            return null;
        }
        String v = raw.trim().toLowerCase(java.util.Locale.ROOT);
        if (v.matches("\\d{1,4}d?")) {
            return v.replace("d", "");
        }
        if (v.matches("\\d{1,5}h")) {
            return Long.toString(Math.max(1, (Long.parseLong(v.substring(0, v.length() - 1)) + 23) / 24));
        }
        throw ApiError.badRequest("since must be days like 30d (or hours like 72h), not '" + Names.shown(raw) + "'");
    }

    private static double round4(double v) {
        return Math.round(v * 10_000) / 10_000.0;
    }

    /** The factor in words. */
    static String explain(FairShare.Standing s, FairShare.Policy policy) {
        if (policy.weightHours() == 0) {
            return "fair share is off: the queue is first come, first served";
        }
        if (s.usedGpuHours() == 0) {
            return "no GPU use lately: your reservations get the full " + fmt(policy.weightHours()) + " hours of priority";
        }
        return String.format(java.util.Locale.ROOT, "you used %.0f%% of the GPU time lately with a %.0f%% share: your reservations get %s of %s hours"
                        + " of priority (usage counts half after %d days)", s.usageShare() * 100, s.share() * 100,
                fmt(policy.weightHours() * s.factor()), fmt(policy.weightHours()), policy.halfLife().toDays());
    }

    private static String fmt(double hours) {
        return hours == Math.rint(hours) ? Long.toString((long) hours) : String.format(java.util.Locale.ROOT, "%.1f", hours);
    }

    /** An admin sets a user's share (1 unless set; 2 is twice the GPU time before their priority falls as far). */
    private void setShare(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = Names.check("username", ctx.pathParam("name"));
        var body = Bodies.json(ctx);
        Bodies.only(body, "share");
        var v = body.get("share");
        if (v == null || !v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() <= 1000)) {
            throw ApiError.badRequest("share must be a number from 0 to 1000 (1 is everyone's default)");
        }
        double share = v.asDouble();
        db.inTransaction(c -> gpuHours.setShare(c, name, share).orElseThrow(() -> ApiError.notFound("no user '" + name + "'")));
        Audit.target(ctx, "user", name);
        log.info("admin '{}' set the fair share of '{}' to {}", who.username(), name, share);
        ctx.json(Map.of("username", name, "share", share));
    }
}
