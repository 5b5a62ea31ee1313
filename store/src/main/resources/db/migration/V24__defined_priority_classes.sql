-- Priority classes are defined by admins (the server's --priority-class): any name of that form.
ALTER TABLE reservations DROP CONSTRAINT IF EXISTS reservations_priority_class_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_priority_class_name CHECK (priority_class ~ '^[a-z][a-z0-9-]{0,15}$');
-- The bookings waiting (the dashboard's timeline, an extension's check) are read without a scan of the queue.
CREATE INDEX idx_reservations_bookings ON reservations(start_at) WHERE status = 'queued' AND start_at IS NOT NULL;
