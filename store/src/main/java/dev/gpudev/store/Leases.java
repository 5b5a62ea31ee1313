package dev.gpudev.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;

/**
 * Leases by name, timed by the database's clock (never a replica's): one holder at a time, renewed while
 * it lives, taken over by another once it lapses. A processor driving a backend that only one may drive
 * per database (this machine's sandboxes) holds one.
 */
public final class Leases {

    /**
     * Takes the lease, or renews it for this holder, unless another holds it and it has not lapsed; true when
     * this holder has it for {@code ttl} from now.
     */
    public boolean acquire(Connection c, String name, String holder, Duration ttl) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into processor_leases (name, holder, acquired_at, expires_at)
                values (?, ?, now(), now() + ? * interval '1 millisecond')
                on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at,
                    acquired_at = case when processor_leases.holder = excluded.holder then processor_leases.acquired_at else now() end
                where processor_leases.holder = excluded.holder or processor_leases.expires_at < now()
                returning holder""")) {
            ps.setString(1, name);
            ps.setString(2, holder);
            ps.setLong(3, ttl.toMillis());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Gives the lease up (a holder that stops on purpose): another may take it at once. */
    public void release(Connection c, String name, String holder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("delete from processor_leases where name = ? and holder = ?")) {
            ps.setString(1, name);
            ps.setString(2, holder);
            ps.executeUpdate();
        }
    }

    /** Who holds the lease now (a lapsed one is nobody's). */
    public Optional<String> holder(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select holder from processor_leases where name = ? and expires_at >= now()")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }
}
