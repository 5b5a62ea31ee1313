-- Tunnels the SSH proxies hold open, by the endpoint they lead to: the processor counts them as signs
-- of use (idle detection) whatever the backend, and the proxy can run as its own replicas. A proxy
-- refreshes seen_at for its rows; rows not refreshed for a while belong to a proxy that went away.
CREATE TABLE proxy_sessions (
    session_id TEXT PRIMARY KEY,
    proxy_id   TEXT NOT NULL,
    username   TEXT NOT NULL,
    ssh_host   TEXT NOT NULL,
    ssh_port   INTEGER NOT NULL,
    opened_at  TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX proxy_sessions_endpoint ON proxy_sessions (ssh_host, ssh_port);
CREATE INDEX proxy_sessions_proxy ON proxy_sessions (proxy_id);
