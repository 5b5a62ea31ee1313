-- Users the owner added: they may read the reservation and connect to it.
CREATE TABLE reservation_users (
    reservation_id UUID NOT NULL REFERENCES reservations(reservation_id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    added_by       INTEGER REFERENCES api_users(user_id) ON DELETE SET NULL,
    added_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (reservation_id, user_id)
);
CREATE INDEX idx_reservation_users_user ON reservation_users(user_id);

ALTER TABLE reservations ADD COLUMN jupyter_enabled BOOLEAN NOT NULL DEFAULT FALSE;
