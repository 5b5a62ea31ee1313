-- Priority classes are defined by admins (the server's --priority-class): any name of that form.
ALTER TABLE reservations DROP CONSTRAINT IF EXISTS reservations_priority_class_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_priority_class_name CHECK (priority_class ~ '^[a-z][a-z0-9-]{0,15}$');
