-- Named persistent disks (a user's home that outlives reservations), scratch homes, images, node labels.
CREATE TABLE disks (
    disk_id      SERIAL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_used_at TIMESTAMPTZ,
    UNIQUE (user_id, name)
);

ALTER TABLE reservations
    ADD COLUMN disk_name TEXT,
    ADD COLUMN no_persist BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN image TEXT,
    ADD COLUMN node_labels JSONB NOT NULL DEFAULT '{}'::jsonb;
