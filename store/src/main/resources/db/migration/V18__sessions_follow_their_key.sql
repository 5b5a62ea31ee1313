-- A dashboard session lives no longer than the API key that asked for its login link: revoking the key
-- (by its user or an admin) ends the sessions it made. Sessions and links from before have none.
ALTER TABLE ui_login_links ADD COLUMN key_id INTEGER;
ALTER TABLE ui_sessions ADD COLUMN key_id INTEGER;
