package dev.gpudev.store;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A database that refuses or is not there is said in words, never as a pool's exception (and never with the password). */
class DatabaseConnectTest {
    @Test
    void aWrongPasswordIsSaidInWords() {
        EmbeddedPostgres pg = TestDatabase.server();
        var e = assertThrows(StoreException.class, () -> Database.connect(pg.jdbcUrl("postgres"), pg.appUser(), "not-the-password", 1));
        assertTrue(e.getMessage().contains("refused user '" + pg.appUser() + "': wrong password or no such user"), e.getMessage());
        assertFalse(e.getMessage().contains("not-the-password"));
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }

    @Test
    void aDatabaseThatIsNotThereOrCannotBeReachedIsSaidInWords() {
        EmbeddedPostgres pg = TestDatabase.server();
        var missing = assertThrows(StoreException.class, () -> Database.connect(pg.jdbcUrl("no_such_db"), pg.appUser(), pg.appPassword(), 1));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        var away = assertThrows(StoreException.class, () -> Database.connect("jdbc:postgresql://127.0.0.1:1/x", "u", "p", 1));
        assertTrue(away.getMessage().startsWith("cannot reach the database at postgresql://127.0.0.1:1/x"), away.getMessage());
        assertEquals(true, away.isUnavailable());
    }
}
