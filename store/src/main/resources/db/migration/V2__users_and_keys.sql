-- Users and API keys: the columns and indexes of the original platform's schema.
CREATE TABLE api_users (
    user_id    SERIAL PRIMARY KEY,
    username   VARCHAR(255) UNIQUE NOT NULL,
    email      VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    is_active  BOOLEAN DEFAULT TRUE
);

CREATE TABLE api_keys (
    key_id       SERIAL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    key_hash     VARCHAR(128) UNIQUE NOT NULL,
    key_prefix   VARCHAR(16) NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    expires_at   TIMESTAMP WITH TIME ZONE,
    last_used_at TIMESTAMP WITH TIME ZONE,
    is_active    BOOLEAN DEFAULT TRUE,
    description  TEXT
);

CREATE INDEX idx_api_keys_user_id ON api_keys(user_id);
CREATE INDEX idx_api_keys_key_hash ON api_keys(key_hash) WHERE is_active = TRUE;
CREATE INDEX idx_api_users_username ON api_users(username);

-- Roles live beside the original tables so that those keep their exact shape.
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('admin')),
    PRIMARY KEY (user_id, role)
);

-- One-time invitations to log in (the bootstrap admin token is the one reusable invite).
CREATE TABLE invites (
    invite_id   SERIAL PRIMARY KEY,
    token_hash  VARCHAR(128) UNIQUE NOT NULL,
    username    VARCHAR(255) NOT NULL,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    reusable    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by  INTEGER REFERENCES api_users(user_id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at  TIMESTAMPTZ,
    used_at     TIMESTAMPTZ
);

CREATE TABLE ssh_keys (
    ssh_key_id  SERIAL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    key_type    TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    comment     TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE (user_id, fingerprint)
);
