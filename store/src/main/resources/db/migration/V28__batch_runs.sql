-- Batch runs (gpu-dev run): the command and how it ended. The end of its output is kept for `gpu-dev logs`
-- after the environment is gone; it is read only by that route, never with the rows the scheduler reads.
ALTER TABLE reservations ADD COLUMN run JSONB;
ALTER TABLE reservations ADD COLUMN run_exit_code INT;
ALTER TABLE reservations ADD COLUMN run_ended_at TIMESTAMPTZ;
ALTER TABLE reservations ADD COLUMN run_log_tail TEXT;
