package dev.gpudev.api;

import dev.gpudev.store.Database;
import dev.gpudev.store.Teams;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which team a new reservation is charged to, and that team's caps: a user's memberships and the teams
 * are read at most every {@link #TTL_NANOS} per API process (a submit stays one statement in the common
 * case); an admin's change through this process is seen at once, through another within that time.
 */
final class TeamChoice {
    static final long TTL_NANOS = 10_000_000_000L;

    private record Cached<T>(T value, long at) {
        boolean fresh() {
            return System.nanoTime() - at < TTL_NANOS;
        }
    }

    private final Database db;
    private final Teams teams;
    private final Map<Long, Cached<List<Teams.Membership>>> memberships = new ConcurrentHashMap<>();
    private final Map<String, Cached<Optional<Teams.Team>>> byName = new ConcurrentHashMap<>();

    TeamChoice(Database db, Teams teams) {
        this.db = db;
        this.teams = teams;
    }

    /** After an admin changed teams: read them again. */
    void forget() {
        memberships.clear();
        byName.clear();
    }

    List<Teams.Membership> of(long userId) {
        var c = memberships.get(userId);
        if (c == null || !c.fresh()) {
            c = new Cached<>(db.query(conn -> teams.of(conn, userId)), System.nanoTime());
            memberships.put(userId, c);
        }
        return c.value();
    }

    Optional<Teams.Team> team(String name) {
        var c = byName.get(name);
        if (c == null || !c.fresh()) {
            c = new Cached<>(db.query(conn -> teams.find(conn, name)), System.nanoTime());
            byName.put(name, c);
        }
        return c.value();
    }

    /**
     * The team named, when the caller is a member of it; with none named, their default team (or their
     * only one); null for a user in no team.
     */
    String resolve(Caller who, String asked) {
        List<Teams.Membership> mine = of(who.userId());
        List<String> names = mine.stream().map(Teams.Membership::team).toList();
        if (asked != null) {
            if (!names.contains(asked)) {
                throw ApiError.forbidden("you are not a member of team '" + asked + "'"
                        + (names.isEmpty() ? " (you are in no team)" : " (your teams: " + String.join(", ", names) + ")"));
            }
            return asked;
        }
        String team = defaultTeam(mine);
        if (team == null && !mine.isEmpty()) {
            throw ApiError.badRequest("you are in several teams (" + String.join(", ", names)
                    + ") and none is your default: say which with team (gpu-dev reserve --team NAME)");
        }
        return team;
    }

    /** The team a user's reservations go to when they name none: their only team, else their default; null when neither. */
    static String defaultTeam(List<Teams.Membership> mine) {
        if (mine.size() == 1) {
            return mine.getFirst().team();
        }
        return mine.stream().filter(Teams.Membership::isDefault).map(Teams.Membership::team).findFirst().orElse(null);
    }
}
