-- One row: bumped by every scheduling cycle (under the scheduler's advisory lock). A replica that keeps
-- its last plan in memory may extend it with new arrivals only when no other replica scheduled since.
CREATE TABLE scheduler_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    epoch     BIGINT NOT NULL
);
INSERT INTO scheduler_state (singleton, epoch) VALUES (TRUE, 0);
