-- The same Idempotency-Key from the same user returns the first reservation instead of making a second.
ALTER TABLE reservations ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX idx_reservations_idempotency ON reservations(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
