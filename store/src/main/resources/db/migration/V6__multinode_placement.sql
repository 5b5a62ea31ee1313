-- A placement is one slice per node: [{node, gpus, ssh_host, ssh_port}]. node_name and gpu_indices
-- keep node 0 for readers of the flat columns.
ALTER TABLE reservations ADD COLUMN placement JSONB;
UPDATE reservations SET placement = jsonb_build_array(jsonb_build_object(
        'node', node_name, 'gpus', to_jsonb(gpu_indices), 'ssh_host', ssh_host, 'ssh_port', ssh_port))
    WHERE node_name IS NOT NULL;
CREATE INDEX idx_reservations_placement ON reservations USING gin (placement) WHERE status = 'active';
