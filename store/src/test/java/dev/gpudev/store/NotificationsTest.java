package dev.gpudev.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NotificationsTest {
    static Database db;

    @BeforeAll
    static void start() {
        db = TestDatabase.fresh();
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    @Test
    void aRequestedWakeUpReachesAListenerAndABurstIsMergedIntoFewNotifications() throws Exception {
        try (Connection listening = db.openDedicated(); var wakeUps = new Notifications.Coalescer(db)) {
            try (Statement st = listening.createStatement()) {
                st.execute("LISTEN " + Notifications.CHANNEL);
            }
            PGConnection pg = listening.unwrap(PGConnection.class);
            assertTrue(pg.getNotifications(50) == null || pg.getNotifications(50).length == 0, "quiet before");
            wakeUps.request();
            var first = pg.getNotifications(5000);
            assertTrue(first != null && first.length == 1, "one request, one wake-up");

            for (int i = 0; i < 1000; i++) {
                wakeUps.request();
            }
            Thread.sleep(200);
            int received = 0;
            for (var batch = pg.getNotifications(100); batch != null && batch.length > 0; batch = pg.getNotifications(100)) {
                received += batch.length;
            }
            assertTrue(received >= 1 && received <= 20, "a burst of 1,000 requests merged into " + received + " notifications");
        }
    }

    @Test
    void aClosedCoalescerSendsNothingMore() throws Exception {
        try (Connection listening = db.openDedicated()) {
            try (Statement st = listening.createStatement()) {
                st.execute("LISTEN " + Notifications.CHANNEL);
            }
            var wakeUps = new Notifications.Coalescer(db);
            wakeUps.close();
            wakeUps.request();
            var got = listening.unwrap(PGConnection.class).getNotifications(300);
            assertFalse(got != null && got.length > 0);
        }
    }
}
