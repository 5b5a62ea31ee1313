-- Who did what, to what, from where, with which outcome: every login, key change and state-changing request.
CREATE TABLE audit_log (
    audit_id       BIGSERIAL PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    user_id        INTEGER REFERENCES api_users(user_id) ON DELETE SET NULL,
    username       TEXT,
    action         TEXT NOT NULL,
    target         TEXT,
    client_address TEXT,
    outcome        INTEGER NOT NULL,
    request_id     TEXT
);
CREATE INDEX idx_audit_log_at ON audit_log(at DESC);
CREATE INDEX idx_audit_log_user ON audit_log(username, at DESC);
CREATE INDEX idx_audit_log_action ON audit_log(action, at DESC);
