-- 010_sharding.sql
--
-- Sharded storage (issue 18). Media items are spread over 64 logical shards (the low six random bits of the id:
-- ((id >> 16) & 63)); the shard map, in the control database, says which configured database holds each. Like every
-- migration, this runs on every database: the map and the moves are used on the control database only, the fences
-- and the shard indexes on every database that holds items.

-- Which database holds each logical shard, and whether it takes calls. A move drains the shard (its items answer 503),
-- copies it and switches it in one update; every process reloads the map when the epoch goes up.
CREATE TABLE IF NOT EXISTS shard_map
(
    service_id text        NOT NULL,
    shard      smallint    NOT NULL CHECK (shard BETWEEN 0 AND 63),
    database   text        NOT NULL,
    state      text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'draining')),
    epoch      bigint      NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, shard)
);

-- The moves of logical shards, with their steps and the rows they copied; at most one unfinished move per shard.
CREATE TABLE IF NOT EXISTS shard_moves
(
    id          bigserial   PRIMARY KEY,
    service_id  text        NOT NULL,
    shard       smallint    NOT NULL,
    source      text        NOT NULL,
    target      text        NOT NULL,
    step        text        NOT NULL,
    rows        jsonb       NOT NULL DEFAULT '{}',
    error       text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    step_at     timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS shard_moves_one ON shard_moves (service_id, shard) WHERE finished_at IS NULL;

-- A fenced shard takes no write in this database, whatever a process with an old map believes: a move fences its
-- source before it copies, so that nothing can commit there after the copy began.
CREATE TABLE IF NOT EXISTS shard_fences
(
    service_id text        NOT NULL,
    shard      smallint    NOT NULL,
    since      timestamptz NOT NULL DEFAULT now(),
    reason     text,
    PRIMARY KEY (service_id, shard)
);

-- Every write of an item's state or index row calls this first. It holds a shared advisory lock on the shard until
-- the write's transaction ends, so the mover's exclusive lock (taken to insert a fence) waits for writes in flight,
-- and writes that come after see the fence (their check runs once the lock is granted, with a fresh snapshot).
-- The mover's own sessions set media.fence_bypass to clean up a fenced source.
CREATE OR REPLACE FUNCTION media_shard_guard(p_service text, p_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_shard smallint := ((p_id >> 16) & 63)::smallint;
BEGIN
    IF current_setting('media.fence_bypass', true) = 'on' THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext(p_service), v_shard);
    IF EXISTS (SELECT 1 FROM shard_fences WHERE service_id = p_service AND shard = v_shard) THEN
        RAISE EXCEPTION 'shard % of service % is fenced in this database (moved)', v_shard, p_service USING ERRCODE = '55M01';
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION media_index_guard() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM media_shard_guard(OLD.service_id, OLD.media_id);
        RETURN OLD;
    END IF;
    PERFORM media_shard_guard(NEW.service_id, NEW.media_id);
    RETURN NEW;
END
$fn$;

DROP TRIGGER IF EXISTS media_index_guard ON media_index;
CREATE TRIGGER media_index_guard BEFORE INSERT OR UPDATE OR DELETE ON media_index
    FOR EACH ROW EXECUTE FUNCTION media_index_guard();

CREATE OR REPLACE FUNCTION orleansstorage_guard() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM media_shard_guard(OLD.ServiceId, OLD.GrainIdN1);
        RETURN OLD;
    END IF;
    PERFORM media_shard_guard(NEW.ServiceId, NEW.GrainIdN1);
    RETURN NEW;
END
$fn$;

DROP TRIGGER IF EXISTS orleansstorage_guard ON OrleansStorage;
CREATE TRIGGER orleansstorage_guard BEFORE INSERT OR UPDATE OR DELETE ON OrleansStorage
    FOR EACH ROW EXECUTE FUNCTION orleansstorage_guard();

-- A read of a fenced shard fails too (55M01) instead of answering "no row" once the source was cleaned up: a process
-- with an old map must not activate a moved item as if it had never been written.
CREATE OR REPLACE FUNCTION gst_read(
    p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer,
    p_type text, p_ext text, p_service text)
RETURNS TABLE (PayloadBinary bytea, Version integer)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM shard_fences f WHERE f.service_id = p_service AND f.shard = ((p_n1 >> 16) & 63)::smallint) THEN
        RAISE EXCEPTION 'shard % of service % is fenced in this database (moved)', ((p_n1 >> 16) & 63), p_service USING ERRCODE = '55M01';
    END IF;
    RETURN QUERY
    SELECT s.PayloadBinary, s.Version
    FROM OrleansStorage AS s
    WHERE s.GrainIdHash = p_id_hash
      AND s.GrainTypeHash = p_type_hash
      AND s.GrainIdN0 = p_n0
      AND s.GrainIdN1 = p_n1
      AND s.ServiceId = p_service
      AND s.GrainTypeString = p_type
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_ext;
END
$fn$;

UPDATE OrleansQuery SET QueryText = $q$
SELECT r.PayloadBinary, r.Version
FROM gst_read(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId) AS r;
$q$
WHERE QueryKey = 'ReadFromStorageKey';

-- Per-shard access for moves, counts and sizes.
CREATE INDEX IF NOT EXISTS orleansstorage_shard ON OrleansStorage (ServiceId, ((GrainIdN1 >> 16) & 63));
CREATE INDEX IF NOT EXISTS media_index_shard ON media_index (service_id, ((media_id >> 16) & 63));
