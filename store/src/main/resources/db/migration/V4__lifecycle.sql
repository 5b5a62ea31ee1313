-- The scheduler's estimate, expiry warnings sent, and activity for idle detection.
ALTER TABLE reservations
    ADD COLUMN estimated_start_at TIMESTAMPTZ,
    ADD COLUMN warnings_sent INTEGER[] NOT NULL DEFAULT '{}',
    ADD COLUMN last_active_at TIMESTAMPTZ,
    ADD COLUMN idle_warned_at TIMESTAMPTZ,
    ADD COLUMN idle_opt_out BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN status_changed_at TIMESTAMPTZ;

UPDATE reservations SET status_changed_at = updated_at;
