-- What POST /v1/jobs/submit does in the database, straight into it: the row, its command and the
-- request's audit entry in one statement (one transaction). pgbench runs this to find the machine's
-- ceiling. The command names the row it came with, so the processor schedules these exactly as it
-- schedules the API's. (The API wakes the processor after its commit, with notifications merged across
-- requests; pgbench's rows are found by the processor's poll.)
\set user random(1, :users)
BEGIN;
WITH ins AS (
    INSERT INTO reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at,
                              current_detailed_status, status_history)
    VALUES (gen_random_uuid(), :user, 'queued', 'h100', 1, 1, now(), 'queued: waiting for the scheduler',
            jsonb_build_array(jsonb_build_object('status', 'queued', 'at', now(), 'reason', 'pgbench')))
    RETURNING reservation_id),
aud AS (
    INSERT INTO audit_log (at, user_id, username, action, target, client_address, outcome, request_id)
    SELECT now(), :user, 'pgbench', 'POST /v1/jobs/submit', reservation_id::text, '127.0.0.1', 201, md5(random()::text) FROM ins)
SELECT pgmq.send('gpu_reservations', jsonb_build_object('type', 'create', 'reservation_id', reservation_id), 0) FROM ins;
COMMIT;
