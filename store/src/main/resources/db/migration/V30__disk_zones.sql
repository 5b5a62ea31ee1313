-- Where a disk's volume lives (a zonal EBS volume: its first node's availability zone), once known: the
-- reservations that use it are kept to that zone.
ALTER TABLE disks ADD COLUMN zone TEXT;
