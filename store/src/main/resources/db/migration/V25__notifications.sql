-- Notifications: a user's webhooks (the URL is a secret: shown masked, never logged), and an outbox the
-- processor's sender delivers from, with retries. Events are recorded by a trigger in the transaction
-- that changed the reservation, whatever code path changed it: started, ended (and why), preempted; the
-- 30- and 5-minute expiry warnings are recorded by the sweeper with the warning it says.
CREATE TABLE notification_hooks (
    hook_id    BIGSERIAL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('slack','json')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, url)
);
CREATE TABLE notification_outbox (
    event_id       BIGSERIAL PRIMARY KEY,
    hook_id        BIGINT NOT NULL REFERENCES notification_hooks(hook_id) ON DELETE CASCADE,
    reservation_id UUID NOT NULL,
    event          TEXT NOT NULL,
    detail         JSONB NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_at        TIMESTAMPTZ NOT NULL DEFAULT '-infinity', -- due at once (the sender's clock decides later retries)
    attempts       INTEGER NOT NULL DEFAULT 0,
    sent_at        TIMESTAMPTZ,
    last_error     TEXT
);
CREATE INDEX idx_notification_outbox_due ON notification_outbox(next_at) WHERE sent_at IS NULL;

CREATE FUNCTION gpudev_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
        FROM notification_hooks h WHERE h.user_id = NEW.user_id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER reservations_notify_events AFTER UPDATE OF status, preempted_at ON reservations
    FOR EACH ROW EXECUTE FUNCTION gpudev_notify_events();
