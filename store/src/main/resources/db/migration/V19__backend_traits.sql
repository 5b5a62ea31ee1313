-- What the backend the processors drive is (published with the capacity): an API replica answers by it,
-- never by probing its own machine. One row.
CREATE TABLE backend_traits (
    id           INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    kind         TEXT NOT NULL,
    isolates     BOOLEAN NOT NULL,
    login_user   TEXT,
    published_at TIMESTAMPTZ NOT NULL
);
