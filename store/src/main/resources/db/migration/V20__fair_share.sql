-- Fair share: each user's share of the platform (1 unless an admin sets another), and an index for the
-- usage of reservations that ended lately (the scheduler sums their decayed GPU-hours once a minute).
ALTER TABLE api_users ADD COLUMN fair_share NUMERIC NOT NULL DEFAULT 1 CHECK (fair_share >= 0 AND fair_share <= 1000);
CREATE INDEX idx_reservations_used_until ON reservations(status_changed_at)
    WHERE launched_at IS NOT NULL AND status IN ('expired','cancelled','failed');
