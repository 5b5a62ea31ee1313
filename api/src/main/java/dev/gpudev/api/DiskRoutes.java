package dev.gpudev.api;

import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Command;
import dev.gpudev.core.Names;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Json;
import io.javalin.http.Context;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A user's named disks: list, create, delete (the processor removes the files), rename and list the
 * files (operations the processor carries out; the caller follows them by id).
 */
final class DiskRoutes {
    private final Database db;
    private final Reservations reservations;
    private final Disks disks;
    private final CommandQueue commands;

    DiskRoutes(Database db, Reservations reservations, Disks disks, CommandQueue commands) {
        this.db = db;
        this.reservations = reservations;
        this.disks = disks;
        this.commands = commands;
    }

    void register(Router r) {
        r.get("/v1/disks", Access.USER, this::list);
        r.get("/v1/disks/{name}", Access.USER, this::one);
        r.post("/v1/disks", Access.USER, this::create);
        r.delete("/v1/disks/{name}", Access.USER, this::delete);
        r.post("/v1/disks/{name}/rename", Access.USER, this::rename);
        r.post("/v1/disks/{name}/list-content", Access.USER, this::listContent);
        r.get("/v1/disk-operations/{id}", Access.USER, this::operation);
    }

    private void list(Context ctx) {
        Caller who = Callers.of(ctx);
        var mine = db.query(c -> disks.forUser(c, who.userId()));
        var inUse = db.query(c -> reservations.disksInUse(c, who.userId()));
        ctx.json(Map.of("disks", mine.stream().map(d -> diskView(d, inUse.get(d.id()))).toList()));
    }

    private static Map<String, Object> diskView(Disks.Disk d, Object inUseBy) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.name());
        m.put("created_at", d.createdAt());
        m.put("last_used_at", d.lastUsedAt());
        m.put("in_use_by", inUseBy);
        return m;
    }

    /** One of the caller's disks (the original's API has it; 404 for another's or none). */
    private void one(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = ctx.pathParam("name");
        var disk = name.length() > 63 ? java.util.Optional.<Disks.Disk>empty() : db.query(c -> disks.forUser(c, who.userId())).stream()
                .filter(d -> d.name().equals(name)).findFirst();
        var d = disk.orElseThrow(() -> ApiError.notFound("you have no disk " + ApiError.shown(name) + ": see `gpu-dev disk list`"));
        ctx.json(diskView(d, db.query(c -> reservations.disksInUse(c, who.userId())).get(d.id())));
    }

    private void create(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = Names.check("name", Bodies.string(Bodies.only(Bodies.json(ctx), "name"), "name", true, 63));
        db.inTransaction(c -> {
            if (disks.lock(c, who.userId(), name).isPresent()) {
                throw new ApiError(409, "conflict", "you already have a disk named " + name);
            }
            disks.use(c, who.userId(), name);
            return null;
        });
        Audit.target(ctx, "disk", name);
        ctx.status(201).json(Map.of("name", name, "message", "created; its directory appears on first use"));
    }

    private void delete(Context ctx) {
        Caller who = Callers.of(ctx);
        String name = db.inTransaction(c -> {
            Disks.Disk disk = own(c, who, ctx.pathParam("name"));
            if (reservations.diskWanted(c, disk.id())) {
                throw new ApiError(409, "conflict", "disk " + disk.name() + " is used by a live or waiting reservation: cancel it first");
            }
            disks.delete(c, disk.id());
            // The files are the backend's: the processor deletes them, after this commit.
            commands.send(c, new Command.DeleteDisk(disk.id(), who.username(), disk.name(), who.username()));
            return disk.name();
        });
        ctx.status(202).json(Map.of("name", name, "message", "disk deleted; its files are being removed"));
    }

    /** A disk name from the path: one of the caller's disks (its row locked), or 404. */
    private Disks.Disk own(Connection c, Caller who, String name) throws SQLException {
        var disk = name.length() > 63 ? java.util.Optional.<Disks.Disk>empty() : disks.lock(c, who.userId(), name);
        return disk.orElseThrow(() -> ApiError.notFound("you have no disk " + ApiError.shown(name) + ": see `gpu-dev disk list`"));
    }

    private void rename(Context ctx) {
        Caller who = Callers.of(ctx);
        String to = Names.check("new_name", Bodies.string(Bodies.only(Bodies.json(ctx), "new_name"), "new_name", true, 63));
        long id = db.inTransaction(c -> {
            Disks.Disk from = own(c, who, ctx.pathParam("name"));
            if (from.name().equals(to)) {
                throw new ApiError(409, "conflict", "disk " + from.name() + " has that name already");
            }
            if (disks.lock(c, who.userId(), to).isPresent()) {
                throw new ApiError(409, "conflict", "you already have a disk named " + to);
            }
            if (reservations.diskWanted(c, from.id())) {
                throw new ApiError(409, "conflict", "disk " + from.name() + " is used by a live or waiting reservation: cancel it first");
            }
            if (disks.renamePending(c, from.id())) {
                throw new ApiError(409, "conflict", "disk " + from.name() + " is being renamed already");
            }
            long op = disks.requestOperation(c, from, "rename", to);
            commands.send(c, new Command.DiskOperation(op, who.username()));
            return op;
        });
        Audit.target(ctx, "disk-operation", id);
        ctx.status(202).json(view(db.query(c -> disks.operation(c, who.userId(), id)).orElseThrow()));
    }

    private void listContent(Context ctx) {
        Caller who = Callers.of(ctx);
        long id = db.inTransaction(c -> {
            Disks.Disk disk = own(c, who, ctx.pathParam("name"));
            long op = disks.requestOperation(c, disk, "list_content", null);
            commands.send(c, new Command.DiskOperation(op, who.username()));
            return op;
        });
        Audit.target(ctx, "disk-operation", id);
        ctx.status(202).json(view(db.query(c -> disks.operation(c, who.userId(), id)).orElseThrow()));
    }

    private void operation(Context ctx) {
        Caller who = Callers.of(ctx);
        long id = Params.id(ctx.pathParam("id"), "disk operation");
        var op = db.query(c -> disks.operation(c, who.admin() ? null : who.userId(), id))
                .orElseThrow(() -> ApiError.notFound("no disk operation " + id));
        ctx.json(view(op));
    }

    private static Map<String, Object> view(Disks.Operation op) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("operation_id", op.id());
        m.put("disk_name", op.disk());
        m.put("operation", op.operation());
        if (op.argument() != null) {
            m.put("new_name", op.argument());
        }
        m.put("status", op.status());
        m.put("result", op.resultJson() == null ? null : Json.read(op.resultJson(), JsonNode.class));
        m.put("error", op.error());
        m.put("created_at", op.createdAt());
        m.put("finished_at", op.finishedAt());
        return m;
    }
}
