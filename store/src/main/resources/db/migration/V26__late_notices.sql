-- "Waiting longer than its ETA": the first estimate a waiting reservation was given (kept as later ones
-- move), and when its owner's webhooks were told it is late (once).
ALTER TABLE reservations ADD COLUMN first_estimated_start_at TIMESTAMPTZ;
ALTER TABLE reservations ADD COLUMN late_notified_at TIMESTAMPTZ;
CREATE INDEX idx_reservations_late ON reservations(first_estimated_start_at)
    WHERE status = 'queued' AND late_notified_at IS NULL AND first_estimated_start_at IS NOT NULL;
