-- Teams: a share of the platform, members (one membership may be a user's default), GPUs guaranteed per
-- type, and caps on what the team may have waiting (0: none). A reservation is charged to one team, or to
-- none (its name is kept as it was, even after the team goes).
CREATE TABLE teams (
    name                  TEXT PRIMARY KEY,
    fair_share            NUMERIC NOT NULL DEFAULT 1 CHECK (fair_share >= 0 AND fair_share <= 1000),
    max_waiting           INTEGER NOT NULL DEFAULT 0 CHECK (max_waiting >= 0),
    max_waiting_gpu_hours INTEGER NOT NULL DEFAULT 0 CHECK (max_waiting_gpu_hours >= 0),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE team_members (
    team       TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    is_default BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (team, user_id)
);
CREATE UNIQUE INDEX idx_team_members_one_default ON team_members(user_id) WHERE is_default;
CREATE INDEX idx_team_members_user ON team_members(user_id);
CREATE TABLE team_guarantees (
    team     TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    gpu_type TEXT NOT NULL,
    gpus     INTEGER NOT NULL CHECK (gpus > 0),
    PRIMARY KEY (team, gpu_type)
);
ALTER TABLE reservations ADD COLUMN team TEXT;
CREATE INDEX idx_reservations_waiting_team ON reservations(team) WHERE status = 'queued' AND team IS NOT NULL;
