-- What the backend offers, published by the processor (the API reads it here, never the backend).
CREATE TABLE capacity_nodes (
    node_name    TEXT PRIMARY KEY,
    gpu_type     TEXT NOT NULL,
    gpus         INTEGER[] NOT NULL,
    simulated    BOOLEAN NOT NULL DEFAULT FALSE,
    labels       JSONB NOT NULL DEFAULT '{}'::jsonb,
    published_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- A distributed reservation is said so (one whole node gets the rendezvous variables too).
ALTER TABLE reservations ADD COLUMN distributed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE reservations SET distributed = TRUE
    WHERE jsonb_array_length(COALESCE(placement, '[]'::jsonb)) > 1 OR gpu_count > 8 OR (gpu_count > 0 AND gpu_count & (gpu_count - 1) <> 0);

-- Disks are addressed by their stable id: a rename changes only disks.name.
ALTER TABLE reservations ADD COLUMN disk_id INTEGER REFERENCES disks(disk_id) ON DELETE SET NULL;
UPDATE reservations r SET disk_id = d.disk_id FROM disks d WHERE d.user_id = r.user_id AND d.name = r.disk_name;
CREATE INDEX idx_reservations_disk ON reservations(disk_id) WHERE status IN ('queued','preparing','active');

-- Jupyter keeps one port and token for the reservation's life.
ALTER TABLE reservations ADD COLUMN jupyter_port INTEGER, ADD COLUMN jupyter_token TEXT;
UPDATE reservations SET jupyter_port = 8888, jupyter_token = substr(md5(random()::text || reservation_id::text), 1, 32)
    WHERE jupyter_enabled AND status IN ('queued', 'preparing', 'active');

-- Disk operations name their disk by id too (its name may change).
ALTER TABLE disk_operations ADD COLUMN disk_id INTEGER;
UPDATE disk_operations o SET disk_id = d.disk_id FROM disks d WHERE d.user_id = o.user_id AND d.name = o.disk_name;

-- Who an AWS login is: the assumed-role ARN that made the user. An AWS identity signs in only to the
-- user it made; users made otherwise (invitations) are never reached by an AWS login.
ALTER TABLE api_users ADD COLUMN aws_principal TEXT;
CREATE UNIQUE INDEX idx_api_users_aws_principal ON api_users(aws_principal) WHERE aws_principal IS NOT NULL;
