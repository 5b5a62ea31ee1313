-- Every waiting reservation's place and estimate are rewritten when they change, and every new one is
-- written once after its arrival: updates of columns no index covers, which PostgreSQL makes in place
-- (HOT: no new index entries, less WAL) when the row's page has room. Leave room on each page. (No
-- index may cover a column the scheduler writes: the dashboard finds a queue's head by creation.)
ALTER TABLE reservations SET (fillfactor = 80);
