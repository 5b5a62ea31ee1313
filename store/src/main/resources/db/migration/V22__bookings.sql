-- Bookings ahead: a waiting reservation with a start time books its GPUs for that window.
ALTER TABLE reservations ADD COLUMN start_at TIMESTAMPTZ;
