-- Images built from a Dockerfile (gpu-dev reserve --dockerfile): the build's context as uploaded (a gzip'd tar with
-- the Dockerfile, content-addressed by its SHA-256), who sent it first, and how its build ended: the image it made
-- (reused by every reservation asking the same hash), or why it failed; the build's log's end either way.
CREATE TABLE image_builds (
    hash        TEXT PRIMARY KEY CHECK (hash ~ '^sha256:[0-9a-f]{64}$'),
    context     BYTEA NOT NULL,
    size        INTEGER NOT NULL,
    uploaded_by INTEGER REFERENCES api_users(user_id) ON DELETE SET NULL,
    uploaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    image       TEXT,
    built_at    TIMESTAMPTZ,
    failure     TEXT,
    log         TEXT
);
