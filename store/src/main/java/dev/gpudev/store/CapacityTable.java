package dev.gpudev.store;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.Capacity;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * capacity_nodes: what the backend offers, as the processor last saw it. The API reads capacity here,
 * never from a backend: API and processor may be different processes.
 */
public final class CapacityTable {

    /** Replaces the published nodes with these (nodes gone are removed). */
    public void publish(Connection c, Capacity capacity, Instant at) throws SQLException {
        List<String> names = capacity.nodes().stream().map(Capacity.Node::name).toList();
        try (PreparedStatement ps = c.prepareStatement("delete from capacity_nodes where not (node_name = any(?))")) {
            ps.setArray(1, c.createArrayOf("text", names.toArray()));
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                insert into capacity_nodes (node_name, gpu_type, gpus, simulated, labels, published_at) values (?, ?, ?, ?, ?::jsonb, ?)
                on conflict (node_name) do update set gpu_type = excluded.gpu_type, gpus = excluded.gpus,
                    simulated = excluded.simulated, labels = excluded.labels, published_at = excluded.published_at""")) {
            for (Capacity.Node n : capacity.nodes()) {
                ps.setString(1, n.name());
                ps.setString(2, n.gpuType());
                ps.setArray(3, c.createArrayOf("integer", n.gpus().toArray()));
                ps.setBoolean(4, n.simulated());
                ps.setString(5, Json.write(n.labels()));
                ps.setTimestamp(6, java.sql.Timestamp.from(at));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** The backend's traits, published with its capacity (replaced). */
    public void publishTraits(Connection c, BackendTraits traits, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into backend_traits (id, kind, isolates, login_user, published_at) values (1, ?, ?, ?, ?)
                on conflict (id) do update set kind = excluded.kind, isolates = excluded.isolates, login_user = excluded.login_user,
                    published_at = excluded.published_at""")) {
            ps.setString(1, traits.kind());
            ps.setBoolean(2, traits.isolates());
            ps.setString(3, traits.loginUser());
            ps.setTimestamp(4, java.sql.Timestamp.from(at));
            ps.executeUpdate();
        }
    }

    /** The traits a processor published; empty before any did. */
    public java.util.Optional<BackendTraits> readTraits(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select kind, isolates, login_user from backend_traits where id = 1");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? java.util.Optional.of(new BackendTraits(rs.getString(1), rs.getBoolean(2), rs.getString(3)))
                    : java.util.Optional.empty();
        }
    }

    public Capacity read(Connection c) throws SQLException {
        List<Capacity.Node> nodes = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "select node_name, gpu_type, gpus, simulated, labels::text from capacity_nodes order by node_name");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                nodes.add(new Capacity.Node(rs.getString(1), rs.getString(2), Arrays.asList((Integer[]) rs.getArray(3).getArray()),
                        rs.getBoolean(4), ReservationRows.labels(rs.getString(5))));
            }
        }
        return new Capacity(nodes);
    }
}
