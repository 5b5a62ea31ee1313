-- The web dashboard. A login link is a one-time, short-lived token that `gpu-dev dashboard` asks for with
-- the user's API key; following it makes a browser session. Both are kept only as SHA-256 hashes, like
-- API keys; a session's CSRF token is not a credential on its own (it is useless without the cookie).
CREATE TABLE ui_login_links (
    token_hash  VARCHAR(128) PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX ui_login_links_expires ON ui_login_links (expires_at);

CREATE TABLE ui_sessions (
    session_hash VARCHAR(128) PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

-- GPUs in use and asked for, per type, once a minute (the processor writes them; any replica, once).
CREATE TABLE usage_samples (
    sampled_at  TIMESTAMPTZ NOT NULL,
    gpu_type    TEXT NOT NULL,
    total_gpus  INTEGER NOT NULL,
    in_use      INTEGER NOT NULL,
    queued      INTEGER NOT NULL,
    queued_gpus INTEGER NOT NULL,
    PRIMARY KEY (sampled_at, gpu_type)
);
