package db.migration;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;

/**
 * Installs PGMQ: the real extension where the server offers it, otherwise our compatible schema
 * (same SQL API), so the rest of gpudev never needs to know which one it talks to.
 */
public class V1__pgmq extends BaseJavaMigration {
    @Override
    public void migrate(Context context) throws Exception {
        try (Statement st = context.getConnection().createStatement()) {
            var rs = st.executeQuery("select 1 from pg_available_extensions where name = 'pgmq'");
            if (rs.next()) {
                st.execute("CREATE EXTENSION IF NOT EXISTS pgmq");
                return;
            }
            st.execute(compatSchema());
        }
    }

    private static String compatSchema() throws IOException {
        try (InputStream in = V1__pgmq.class.getResourceAsStream("/dev/gpudev/store/pgmq_compat.sql")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
