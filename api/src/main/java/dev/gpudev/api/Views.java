package dev.gpudev.api;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How a reservation reads in the API, for the caller who asks (who logs in as themselves through the proxy). */
final class Views {
    private final ApiConfig config;
    private final CapacityView backend;

    Views(ApiConfig config, CapacityView backend) {
        this.config = config;
        this.backend = backend;
    }

    /** A batch run: its command (its owner's eyes only, as its variables: words may hold secrets), where its log is, how it stands. */
    private static Map<String, Object> run(Reservation r, boolean mayRead) {
        var run = r.options().run();
        if (run == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        if (mayRead) {
            m.put("command", run.command());
            m.put("command_line", run.shellLine());
        }
        m.put("workdir", run.workdir());
        m.put("keep", run.keep());
        m.put("log", "~/" + dev.gpudev.core.BatchRun.logPath(r.environmentName()));
        m.put("state", runState(r));
        m.put("ended_at", r.lifecycle().runOutcome() == null ? null : r.lifecycle().runOutcome().endedAt());
        return m;
    }

    /** "waiting", "running", "exited 0", "failed (exit 3)", or "not run (cancelled)" / "stopped (expired)" when it ended otherwise. */
    static String runState(Reservation r) {
        var outcome = r.lifecycle().runOutcome();
        if (outcome != null) {
            return outcome.words();
        }
        return switch (r.status()) {
            case QUEUED, PREPARING -> "waiting";
            case ACTIVE -> "running";
            default -> (r.launchedAt() == null ? "not run (" : "stopped (") + r.status().wire() + ")";
        };
    }

    Map<String, Object> job(Reservation r, Caller who) {
        Map<String, Object> m = new LinkedHashMap<>();
        boolean queued = r.status() == ReservationStatus.QUEUED;
        m.put("job_id", r.id());
        m.put("user", r.username());
        m.put("status", r.status().wire());
        m.put("gpu_type", r.gpuType());
        m.put("gpu_count", r.gpuCount());
        m.put("duration_hours", r.durationHours());
        m.put("name", r.name());
        m.put("jupyter", r.lifecycle().jupyter());
        m.put("keep_when_idle", r.lifecycle().idleOptOut());
        m.put("disk_name", r.options().disk());
        m.put("no_persist", r.options().scratch());
        m.put("image", r.options().image());
        m.put("node_labels", r.options().nodeLabels());
        boolean owner = who != null && r.userId() == who.userId();
        if (owner) { // its own variables may be secrets: its owner's eyes only
            m.put("env", r.options().env().values());
        }
        m.put("run", run(r, owner));
        m.put("exit_code", r.lifecycle().runOutcome() == null ? null : r.lifecycle().runOutcome().exitCode());
        m.put("distributed", r.options().distributed());
        m.put("priority_class", r.options().priority().wire());
        m.put("preempted_at", r.lifecycle().preemptedAt());
        m.put("start_at", r.options().startAt());
        m.put("team", r.options().team());
        m.put("created_at", r.createdAt());
        m.put("launched_at", r.launchedAt());
        m.put("expires_at", r.expiresAt());
        m.put("queue_position", queued ? r.queuePosition() : null);
        m.put("estimated_start_at", queued ? r.estimatedStart() : null);
        m.put("pending_reason", queued ? r.pendingReason() : null);
        m.put("current_detailed_status", r.detailedStatus());
        m.put("failure_reason", r.failureReason());
        m.put("gpus", r.placement() == null ? null : r.placement().gpus());
        m.put("node", r.placement() == null ? null : r.placement().node());
        m.put("nodes", r.placement() == null ? null : nodes(r));
        if (r.status() == ReservationStatus.ACTIVE && r.connection() != null) {
            Map<String, Object> conn = new LinkedHashMap<>();
            conn.put("host", r.connection().host());
            conn.put("port", r.connection().port());
            String login = config.environmentUser(backend.traits(), who.username());
            conn.put("user", login);
            conn.put("proxy_user", who.username());
            conn.put("proxy_host", config.sshProxyHost());
            conn.put("proxy_port", config.sshProxyPort());
            conn.put("host_key_alias", r.environmentName());
            m.put("connection", conn);
            m.put("ssh_command", "ssh -J " + who.username() + "@" + config.sshProxyHost() + ":" + config.sshProxyPort()
                    + " -p " + r.connection().port() + " " + login + "@" + r.connection().host());
        } else {
            m.put("connection", null);
            m.put("ssh_command", null);
        }
        m.put("status_history", r.history().stream().map(h -> {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("status", h.status().wire());
            e.put("at", h.at());
            e.put("reason", h.reason());
            return e;
        }).toList());
        return m;
    }

    private static List<Map<String, Object>> nodes(Reservation r) {
        List<Map<String, Object>> out = new ArrayList<>();
        var slices = r.placement().slices();
        boolean active = r.status() == ReservationStatus.ACTIVE;
        for (int rank = 0; rank < slices.size(); rank++) {
            var sl = slices.get(rank);
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("rank", rank);
            n.put("node", sl.node());
            n.put("gpu_count", sl.gpuCount());
            n.put("gpus", sl.devices());
            n.put("ssh_host", active ? sl.sshHost() : null);
            n.put("ssh_port", active ? sl.sshPort() : null);
            n.put("host_key_alias", r.environmentName(rank));
            out.add(n);
        }
        return out;
    }
}
