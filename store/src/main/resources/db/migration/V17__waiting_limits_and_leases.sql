-- What one user has waiting is counted at every submit (the per-user waiting limits): by this index, not
-- by every reservation the user ever made. Status is not a column the scheduler writes on waiting rows,
-- so their queue updates stay HOT.
CREATE INDEX idx_reservations_user_waiting ON reservations(user_id) WHERE status = 'queued';

-- A processor that drives a backend only one may drive per database (the local backend: this machine's
-- sandboxes) holds a lease here; the others stand by and take over when it lapses.
CREATE TABLE processor_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
);
