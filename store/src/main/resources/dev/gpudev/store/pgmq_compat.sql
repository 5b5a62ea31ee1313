-- A pgmq-compatible schema for servers without the pgmq extension (the embedded default).
-- Same function names, arguments, result columns and semantics as pgmq's SQL API, for the
-- subset gpudev uses: create, send (with delay), send_batch, read (visibility timeout, read_ct),
-- pop, delete, archive, set_vt, metrics, purge_queue, drop_queue.
CREATE SCHEMA IF NOT EXISTS pgmq;

CREATE TABLE IF NOT EXISTS pgmq.meta (
    queue_name varchar UNIQUE NOT NULL,
    is_partitioned boolean NOT NULL DEFAULT false,
    is_unlogged boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE pgmq.message_record AS (
    msg_id bigint,
    read_ct integer,
    enqueued_at timestamptz,
    vt timestamptz,
    message jsonb,
    headers jsonb
);

CREATE TYPE pgmq.metrics_result AS (
    queue_name text,
    queue_length bigint,
    newest_msg_age_sec integer,
    oldest_msg_age_sec integer,
    total_messages bigint,
    scrape_time timestamptz,
    queue_visible_length bigint
);

CREATE FUNCTION pgmq._check_name(queue_name text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF queue_name !~ '^[a-z0-9_]{1,47}$' THEN
        RAISE EXCEPTION 'invalid queue name %: use 1-47 of a-z, 0-9 and _', queue_name;
    END IF;
    RETURN queue_name;
END $$;

CREATE FUNCTION pgmq.create(queue_name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE q text := pgmq._check_name(queue_name);
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS pgmq.%I (
        msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
        read_ct integer NOT NULL DEFAULT 0,
        enqueued_at timestamptz NOT NULL DEFAULT now(),
        vt timestamptz NOT NULL,
        message jsonb,
        headers jsonb)', 'q_' || q);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt ASC)', 'q_' || q || '_vt_idx', 'q_' || q);
    EXECUTE format('CREATE TABLE IF NOT EXISTS pgmq.%I (
        msg_id bigint PRIMARY KEY,
        read_ct integer NOT NULL DEFAULT 0,
        enqueued_at timestamptz NOT NULL DEFAULT now(),
        archived_at timestamptz NOT NULL DEFAULT now(),
        vt timestamptz NOT NULL,
        message jsonb,
        headers jsonb)', 'a_' || q);
    INSERT INTO pgmq.meta (queue_name) VALUES (q) ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'INSERT INTO pgmq.%I (vt, message) VALUES (clock_timestamp() + make_interval(secs => $1), $2) RETURNING msg_id',
        'q_' || pgmq._check_name(queue_name)) USING delay, msg;
END $$;

CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer DEFAULT 0) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'INSERT INTO pgmq.%I (vt, message) SELECT clock_timestamp() + make_interval(secs => $1), unnest($2) RETURNING msg_id',
        'q_' || pgmq._check_name(queue_name)) USING delay, msgs;
END $$;

CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE pgmq.%1$I m SET vt = clock_timestamp() + make_interval(secs => $1), read_ct = m.read_ct + 1
         FROM cte WHERE m.msg_id = cte.msg_id
         RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers',
        'q_' || pgmq._check_name(queue_name)) USING vt, qty;
END $$;

CREATE FUNCTION pgmq.pop(queue_name text) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT 1 FOR UPDATE SKIP LOCKED)
         DELETE FROM pgmq.%1$I m USING cte WHERE m.msg_id = cte.msg_id
         RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers',
        'q_' || pgmq._check_name(queue_name));
END $$;

CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = $1', 'q_' || pgmq._check_name(queue_name)) USING msg_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END $$;

CREATE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id',
        'q_' || pgmq._check_name(queue_name)) USING msg_ids;
END $$;

CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    EXECUTE format(
        'WITH moved AS (DELETE FROM pgmq.%1$I WHERE msg_id = $1 RETURNING msg_id, read_ct, enqueued_at, vt, message, headers)
         INSERT INTO pgmq.%2$I (msg_id, read_ct, enqueued_at, vt, message, headers) SELECT * FROM moved',
        'q_' || pgmq._check_name(queue_name), 'a_' || queue_name) USING msg_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END $$;

CREATE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'WITH moved AS (DELETE FROM pgmq.%1$I WHERE msg_id = ANY($1) RETURNING msg_id, read_ct, enqueued_at, vt, message, headers)
         INSERT INTO pgmq.%2$I (msg_id, read_ct, enqueued_at, vt, message, headers) SELECT * FROM moved RETURNING msg_id',
        'q_' || pgmq._check_name(queue_name), 'a_' || queue_name) USING msg_ids;
END $$;

CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'UPDATE pgmq.%I SET vt = clock_timestamp() + make_interval(secs => $2) WHERE msg_id = $1
         RETURNING msg_id, read_ct, enqueued_at, vt, message, headers',
        'q_' || pgmq._check_name(queue_name)) USING msg_id, vt;
END $$;

CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result LANGUAGE plpgsql AS $$
DECLARE r pgmq.metrics_result;
BEGIN
    EXECUTE format(
        'SELECT $1::text, count(*),
                extract(epoch FROM now() - max(enqueued_at))::integer,
                extract(epoch FROM now() - min(enqueued_at))::integer,
                coalesce((SELECT last_value FROM pgmq.%2$I), 0),
                now(),
                count(*) FILTER (WHERE vt <= clock_timestamp())
         FROM pgmq.%1$I',
        'q_' || pgmq._check_name(queue_name), 'q_' || queue_name || '_msg_id_seq') INTO r USING queue_name;
    RETURN r;
END $$;

CREATE FUNCTION pgmq.purge_queue(queue_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('DELETE FROM pgmq.%I', 'q_' || pgmq._check_name(queue_name));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE FUNCTION pgmq.drop_queue(queue_name text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', 'q_' || pgmq._check_name(queue_name));
    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', 'a_' || queue_name);
    DELETE FROM pgmq.meta WHERE meta.queue_name = drop_queue.queue_name;
    RETURN true;
END $$;
