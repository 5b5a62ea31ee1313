package dev.gpudev.api;

import dev.gpudev.store.Database;
import dev.gpudev.core.SshPublicKey;
import dev.gpudev.store.SshKeys;
import io.javalin.http.Context;

import java.util.LinkedHashMap;
import java.util.Map;

/** A user's SSH public keys: the proxy and their environments let these in. */
final class SshKeyRoutes {
    private final Database db;
    private final SshKeys sshKeys;

    SshKeyRoutes(Database db, SshKeys sshKeys) {
        this.db = db;
        this.sshKeys = sshKeys;
    }

    void register(Router r) {
        r.post("/v1/ssh-keys", Access.USER_WITH_KEY, this::add);
        r.get("/v1/ssh-keys", Access.USER, this::list);
        r.delete("/v1/ssh-keys/{id}", Access.USER_WITH_KEY, this::delete);
    }

    private void add(Context ctx) {
        Caller who = Callers.of(ctx);
        SshPublicKey key = SshPublicKey.parse(Bodies.string(Bodies.only(Bodies.json(ctx), "public_key"), "public_key", true, 16_384));
        var saved = db.inTransaction(c -> {
            if (sshKeys.forUser(c, who.userId()).size() >= 50) {
                throw new ApiError(409, "conflict", "you already have 50 SSH keys: delete one first");
            }
            return sshKeys.add(c, who.userId(), key.type(), key.line(), key.fingerprint(), key.comment());
        });
        ctx.status(201).json(view(saved));
    }

    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        ctx.json(Map.of("keys", db.query(c -> sshKeys.forUser(c, who.userId())).stream().map(SshKeyRoutes::view).toList()));
    }

    private void delete(Context ctx) {
        Caller who = Callers.of(ctx);
        long id = Params.id(ctx.pathParam("id"), "ssh key id");
        if (!db.query(c -> sshKeys.delete(c, who.admin() ? null : who.userId(), id))) {
            throw ApiError.notFound("you have no SSH key " + id);
        }
        ctx.status(204);
    }

    private static Map<String, Object> view(SshKeys.SshKey k) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", k.id());
        m.put("key_type", k.keyType());
        m.put("fingerprint", k.fingerprint());
        m.put("comment", k.comment());
        m.put("created_at", k.createdAt());
        return m;
    }
}
