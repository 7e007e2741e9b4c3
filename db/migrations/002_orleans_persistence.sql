-- 002_orleans_persistence.sql
--
-- Grain state storage for Microsoft.Orleans.Persistence.AdoNet 10.4.2
-- (invariant "Npgsql", PostgreSQL 15). Written for this project from the
-- provider's contract; see db/CONTRACT.md. Runs once inside the runner's
-- transaction (no BEGIN/COMMIT here); statements are re-runnable anyway.
--
-- The provider loads WriteToStorageKey, ReadFromStorageKey, ClearStorageKey
-- (all required) and DeleteStorageKey (required only when the storage option
-- DeleteStateOnClear = true; provided here so either setting works).
--
-- Every query binds the same grain key parameters:
--   @GrainIdHash int, @GrainIdN0 bigint, @GrainIdN1 bigint, @GrainTypeHash int,
--   @GrainTypeString text, @GrainIdExtensionString text (may be NULL),
--   @ServiceId text
-- plus @GrainStateVersion int (NULL = grain has no etag yet) for write/clear/
-- delete and @PayloadBinary bytea for write.
--
-- Version (etag) rules the provider relies on:
--  * write/clear/delete report a new, different, non-NULL version on success;
--  * on a version mismatch they change nothing and report NULL, which the
--    provider turns into InconsistentStateException;
--  * a write with NULL version only succeeds by inserting a brand-new row.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT pk_orleansquery PRIMARY KEY (QueryKey)
);

-- GrainIdN0/N1 carry a Guid key (two halves) or an integer key (N1); string
-- keys and key extensions go to GrainIdExtensionString. The two hashes are
-- computed by the provider and only serve as cheap, selective lookup columns.
-- PayloadBinary NULL with a Version means "cleared but row kept".
CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NULL,
    ServiceId              text        NOT NULL,
    PayloadBinary          bytea       NULL,
    ModifiedOn             timestamptz NOT NULL DEFAULT now(),
    Version                integer     NOT NULL
);

-- At most one row per grain state. Long strings are folded with md5() so the
-- index entry stays small whatever the key length; the IS NULL term keeps a
-- NULL extension distinct from an empty one. The leading columns make the
-- same index serve the lookups below (strings are then re-checked exactly).
CREATE UNIQUE INDEX IF NOT EXISTS ux_orleansstorage_grain
    ON OrleansStorage (
        GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId,
        md5(GrainTypeString),
        (GrainIdExtensionString IS NULL),
        md5(coalesce(GrainIdExtensionString, ''))
    );

-- ---------------------------------------------------------------------------
-- Helper functions (prefix gst_).
-- ---------------------------------------------------------------------------

-- Write: insert when the grain has no etag, otherwise update only when the
-- stored version equals the etag. Returns the new version, or NULL when the
-- write was refused (row already exists / version mismatch / row missing).
CREATE OR REPLACE FUNCTION gst_write(
    p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer,
    p_type text, p_ext text, p_service text,
    p_expected integer, p_payload bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_new integer;
BEGIN
    IF p_expected IS NULL THEN
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_id_hash, p_n0, p_n1, p_type_hash, p_type,
             p_ext, p_service, p_payload, now(), 1)
        ON CONFLICT DO NOTHING          -- a concurrent/earlier row wins
        RETURNING Version INTO v_new;
    ELSE
        UPDATE OrleansStorage AS s
        SET PayloadBinary = p_payload,
            ModifiedOn    = now(),
            Version       = s.Version + 1
        WHERE s.GrainIdHash = p_id_hash
          AND s.GrainTypeHash = p_type_hash
          AND s.GrainIdN0 = p_n0
          AND s.GrainIdN1 = p_n1
          AND s.ServiceId = p_service
          AND s.GrainTypeString = p_type
          AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_ext
          AND s.Version = p_expected
        RETURNING s.Version INTO v_new;
    END IF;
    RETURN v_new;                        -- NULL when nothing was written
END
$fn$;

-- Clear without deleting: payload becomes NULL, version still advances.
CREATE OR REPLACE FUNCTION gst_clear(
    p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer,
    p_type text, p_ext text, p_service text, p_expected integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_new integer;
BEGIN
    UPDATE OrleansStorage AS s
    SET PayloadBinary = NULL,
        ModifiedOn    = now(),
        Version       = s.Version + 1
    WHERE s.GrainIdHash = p_id_hash
      AND s.GrainTypeHash = p_type_hash
      AND s.GrainIdN0 = p_n0
      AND s.GrainIdN1 = p_n1
      AND s.ServiceId = p_service
      AND s.GrainTypeString = p_type
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_ext
      AND s.Version = p_expected
    RETURNING s.Version INTO v_new;
    RETURN v_new;
END
$fn$;

-- Delete the row. The provider treats a returned value equal to the grain's
-- etag as a conflict, so success reports "deleted version + 1".
CREATE OR REPLACE FUNCTION gst_delete(
    p_id_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer,
    p_type text, p_ext text, p_service text, p_expected integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_gone integer;
BEGIN
    DELETE FROM OrleansStorage AS s
    WHERE s.GrainIdHash = p_id_hash
      AND s.GrainTypeHash = p_type_hash
      AND s.GrainIdN0 = p_n0
      AND s.GrainIdN1 = p_n1
      AND s.ServiceId = p_service
      AND s.GrainTypeString = p_type
      AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_ext
      AND s.Version = p_expected
    RETURNING s.Version INTO v_gone;
    RETURN v_gone + 1;                   -- NULL + 1 = NULL when nothing matched
END
$fn$;

-- ---------------------------------------------------------------------------
-- Query rows.
-- ---------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Result: one column NewGrainStateVersion (int, NULL = conflict).
('WriteToStorageKey', $q$
SELECT gst_write(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash,
                 @GrainTypeString, @GrainIdExtensionString, @ServiceId,
                 @GrainStateVersion, @PayloadBinary) AS NewGrainStateVersion;
$q$),

-- Result: zero or one row with PayloadBinary (bytea, NULL when cleared) and
-- Version. No row means the grain was never written (etag stays NULL).
('ReadFromStorageKey', $q$
SELECT s.PayloadBinary, s.Version
FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.ServiceId = @ServiceId
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

-- Result: first column = new version (NULL = conflict).
('ClearStorageKey', $q$
SELECT gst_clear(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash,
                 @GrainTypeString, @GrainIdExtensionString, @ServiceId,
                 @GrainStateVersion) AS NewGrainStateVersion;
$q$),

-- Result: first column = deleted version + 1 (NULL = conflict).
('DeleteStorageKey', $q$
SELECT gst_delete(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash,
                  @GrainTypeString, @GrainIdExtensionString, @ServiceId,
                  @GrainStateVersion) AS NewGrainStateVersion;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
