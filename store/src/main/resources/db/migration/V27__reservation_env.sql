-- A reservation's own environment variables (reserve --env): shown to its owner only.
ALTER TABLE reservations ADD COLUMN env JSONB;
