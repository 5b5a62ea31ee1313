-- Where the last plan put a waiting reservation (node names, comma-separated; several for a distributed
-- one). The next plan keeps it there when that node still offers the same start, so a replan that only
-- confirms the past never moves anyone, and estimates of those planned after it stay as they were.
alter table reservations add column planned_nodes text;
