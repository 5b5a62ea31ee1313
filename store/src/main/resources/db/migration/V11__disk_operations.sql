-- Disk operations that need the backend's files (rename, list contents): requested by the API, carried
-- out by the processor (a disk_op command names the row), their outcome kept here for the caller to read.
CREATE TABLE disk_operations (
    operation_id BIGSERIAL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES api_users(user_id) ON DELETE CASCADE,
    disk_name    TEXT NOT NULL,
    operation    TEXT NOT NULL CHECK (operation IN ('rename', 'list_content')),
    argument     TEXT,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    result       JSONB,
    error        TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    finished_at  TIMESTAMPTZ
);
CREATE INDEX idx_disk_operations_pending ON disk_operations(user_id, disk_name) WHERE status = 'pending';
