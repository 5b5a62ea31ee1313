-- Priority classes (high, normal, preemptible) and when a preemptible reservation was preempted (its end
-- brought forward for one with a better claim: decided once, by a compare-and-set on this column).
ALTER TABLE reservations ADD COLUMN priority_class TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority_class IN ('high','normal','preemptible'));
ALTER TABLE reservations ADD COLUMN preempted_at TIMESTAMPTZ;
