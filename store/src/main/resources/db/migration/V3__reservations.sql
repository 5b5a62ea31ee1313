CREATE TABLE reservations (
    reservation_id          UUID PRIMARY KEY,
    user_id                 INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    status                  TEXT NOT NULL CHECK (status IN ('queued','preparing','active','expired','cancelled','failed')),
    gpu_type                TEXT NOT NULL,
    gpu_count               INTEGER NOT NULL CHECK (gpu_count >= 0),
    duration_hours          NUMERIC(12, 6) NOT NULL CHECK (duration_hours > 0),
    name                    TEXT,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    launched_at             TIMESTAMPTZ,
    expires_at              TIMESTAMPTZ,
    node_name               TEXT,
    gpu_indices             INTEGER[],
    ssh_host                TEXT,
    ssh_port                INTEGER,
    failure_reason          TEXT,
    current_detailed_status TEXT,
    queue_position          INTEGER,
    pending_reason          TEXT,
    status_history          JSONB NOT NULL DEFAULT '[]'::jsonb,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_reservations_user_created ON reservations(user_id, created_at DESC);
CREATE INDEX idx_reservations_live ON reservations(status, created_at) WHERE status IN ('queued','preparing','active');
-- A name picks one live reservation of its owner; old ones may reuse it.
CREATE UNIQUE INDEX idx_reservations_live_name ON reservations(user_id, name)
    WHERE name IS NOT NULL AND status IN ('queued','preparing','active');
CREATE INDEX idx_reservations_ssh ON reservations(ssh_host, ssh_port) WHERE status = 'active';
