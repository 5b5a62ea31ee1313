package dev.gpudev.api;

import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Reservation;

import java.util.List;
import java.util.UUID;

/**
 * Which reservation a user means: the full id, a unique prefix of it (4 or more characters, as `list`
 * prints them), or a name, among the reservations they can see (their own, those they were added to;
 * admins: all). A name means the live one of that name before ended ones. An ambiguous reference lists
 * the candidates; one the caller cannot see reads as missing (ids are not a way to probe).
 */
final class Lookup {
    private final Database db;
    private final Reservations reservations;

    Lookup(Database db, Reservations reservations) {
        this.db = db;
        this.reservations = reservations;
    }

    Reservation visible(Caller who, String ref) {
        if (ref.length() > 100 || ref.isBlank()) {
            throw ApiError.notFound("you have no reservation '" + ApiError.shown(ref) + "': see `gpu-dev list`");
        }
        List<Reservation> found = db.query(c -> reservations.matching(c, who.admin() ? null : who.userId(), ref, 10));
        UUID exact = parse(ref);
        if (exact != null) {
            return found.stream().filter(r -> r.id().equals(exact)).findFirst().orElseThrow(() -> missing(ref));
        }
        List<Reservation> named = found.stream().filter(r -> ref.equals(r.name())).toList();
        List<Reservation> candidates = named.isEmpty() ? found : named;
        if (candidates.isEmpty()) {
            throw missing(ref);
        }
        List<Reservation> live = candidates.stream().filter(r -> !r.status().isTerminal()).toList();
        if (!named.isEmpty()) {
            // A name: its live reservation (names are unique among a user's live ones), else the newest that had it.
            if (live.size() == 1 || (live.isEmpty() && named.stream().map(Reservation::userId).distinct().count() == 1)) {
                return live.isEmpty() ? named.getFirst() : live.getFirst();
            }
            throw ambiguous(ref, live.isEmpty() ? named : live);
        }
        if (candidates.size() == 1) {
            return candidates.getFirst();
        }
        throw ambiguous(ref, candidates);
    }

    /** One the caller may change: their own (admins: anyone's). Someone added to it may only look: that is said. */
    Reservation owned(Caller who, String ref, String action) {
        Reservation r = visible(who, ref);
        if (!who.admin() && r.userId() != who.userId()) {
            throw ApiError.forbidden("only " + r.username() + ", who owns reservation " + r.id().toString().substring(0, 8)
                    + ", can " + action + " it; you were added to it and may look and connect");
        }
        return r;
    }

    private static ApiError missing(String ref) {
        if (ref.matches("[0-9a-fA-F-]{1,3}")) {
            // it looks like the start of an id, too short to be one
            return ApiError.notFound("no reservation is named '" + ApiError.shown(ref) + "', and an id prefix needs at least 4 characters: "
                    + "see `gpu-dev list`");
        }
        return ApiError.notFound("you have no reservation '" + ApiError.shown(ref) + "': see `gpu-dev list`");
    }

    private static ApiError ambiguous(String ref, List<Reservation> candidates) {
        StringBuilder sb = new StringBuilder("'" + ApiError.shown(ref) + "' could mean " + candidates.size() + " reservations: ");
        for (int i = 0; i < candidates.size(); i++) {
            Reservation r = candidates.get(i);
            sb.append(i == 0 ? "" : ", ").append(r.id().toString(), 0, 13).append(" (").append(r.name() == null ? "" : r.name() + ", ")
                    .append(r.username()).append(", ").append(r.status().wire()).append(")");
        }
        return new ApiError(409, "ambiguous", sb.append(": give more of the id").toString());
    }

    private static UUID parse(String s) {
        try {
            return s.length() == 36 ? UUID.fromString(s) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
