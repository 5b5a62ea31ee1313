-- A team's notification hooks (gpu-dev notify add URL --team T): events of every reservation charged to the
-- team reach them, as a user's own hooks get their reservations' events. user_id is who registered it.
ALTER TABLE notification_hooks ADD COLUMN team TEXT REFERENCES teams(name) ON DELETE CASCADE;
ALTER TABLE notification_hooks DROP CONSTRAINT notification_hooks_user_id_url_key;
CREATE UNIQUE INDEX idx_notification_hooks_user_url ON notification_hooks(user_id, url) WHERE team IS NULL;
CREATE UNIQUE INDEX idx_notification_hooks_team_url ON notification_hooks(team, url) WHERE team IS NOT NULL;
CREATE INDEX idx_notification_hooks_team ON notification_hooks(team) WHERE team IS NOT NULL;

CREATE OR REPLACE FUNCTION gpudev_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ev TEXT;
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status = 'active' THEN
        ev := 'started';
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('expired','cancelled','failed') THEN
        ev := 'ended';
    ELSIF NEW.preempted_at IS NOT NULL AND OLD.preempted_at IS NULL THEN
        ev := 'preempted';
    END IF;
    IF ev IS NOT NULL THEN
        INSERT INTO notification_outbox (hook_id, reservation_id, event, detail)
        SELECT h.hook_id, NEW.reservation_id, ev, jsonb_build_object('status', NEW.status)
        FROM notification_hooks h
        WHERE (h.team IS NULL AND h.user_id = NEW.user_id) OR (h.team IS NOT NULL AND h.team = NEW.team);
    END IF;
    RETURN NEW;
END $$;
