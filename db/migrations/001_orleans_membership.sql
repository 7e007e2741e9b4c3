-- 001_orleans_membership.sql
--
-- Query catalogue + cluster membership schema for Microsoft.Orleans.Clustering.AdoNet
-- 10.4.2 (invariant "Npgsql", PostgreSQL 15).
--
-- Written for this project against the provider's contract (query keys, bound
-- parameter names, result column names); see db/CONTRACT.md. Applied exactly
-- once by the migration runner inside its own transaction, so this file has no
-- BEGIN/COMMIT. Everything is still written to be re-runnable without damage
-- (IF NOT EXISTS / CREATE OR REPLACE / upserted query rows).
--
-- Notes that apply to all Orleans migrations in this folder:
--  * Identifiers are unquoted, so PostgreSQL stores them lower-case. The
--    providers issue "SELECT QueryKey, QueryText FROM OrleansQuery" unquoted
--    and look result columns up by name; Npgsql's GetOrdinal falls back to a
--    case-insensitive match, so lower-case result columns are fine.
--  * Npgsql binds every DateTime parameter with DbType.DateTime, i.e. as
--    timestamptz carrying a UTC value. All time columns are timestamptz so the
--    stored instant never depends on the session TimeZone setting.
--  * Each query text is a single statement. Multi-step writes live in
--    PL/pgSQL functions so they run atomically in one round trip.

-- ---------------------------------------------------------------------------
-- Query catalogue shared by every ADO.NET provider.
-- ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT pk_orleansquery PRIMARY KEY (QueryKey)
);

-- ---------------------------------------------------------------------------
-- Tables.
-- One version row per cluster (the provider calls the cluster id
-- "DeploymentId"). Its Version is the optimistic-concurrency token (etag) of
-- the whole membership table: every row insert/update must present the
-- current value and bumps it by one on success.
-- ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150) NOT NULL,
    LastUpdated  timestamptz  NOT NULL DEFAULT now(),
    Version      integer      NOT NULL DEFAULT 0,
    CONSTRAINT pk_orleans_mbr_version PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port, generation).
-- Status holds Orleans.Runtime.SiloStatus as an integer
-- (1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead).
-- SuspectTimes is the provider's own "siloAddress,date|siloAddress,date" text.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150) NOT NULL,
    Address      varchar(45)  NOT NULL,
    Port         integer      NOT NULL,
    Generation   integer      NOT NULL,
    SiloName     varchar(150) NOT NULL,
    HostName     varchar(150) NOT NULL,
    Status       integer      NOT NULL,
    ProxyPort    integer      NOT NULL,
    SuspectTimes text         NULL,
    StartTime    timestamptz  NOT NULL,
    IAmAliveTime timestamptz  NOT NULL,
    CONSTRAINT pk_orleans_mbr PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT fk_orleans_mbr_version FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- ---------------------------------------------------------------------------
-- Helper functions (prefix mbr_). Parameter types follow what Npgsql sends:
-- strings -> text, Int32 -> integer, DateTime -> timestamptz.
-- ---------------------------------------------------------------------------

-- Creates the cluster's version row (Version 0) unless it already exists.
-- Returns true only when this call created it.
CREATE OR REPLACE FUNCTION mbr_ensure_version_row(p_deployment text)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId, LastUpdated, Version)
    VALUES (p_deployment, now(), 0)
    ON CONFLICT (DeploymentId) DO NOTHING;
    RETURN FOUND;
END
$fn$;

-- Locks the cluster's version row and reports whether its Version equals the
-- caller's etag. The row lock serialises all conditional membership writers
-- of one cluster until the surrounding statement's transaction ends.
CREATE OR REPLACE FUNCTION mbr_lock_version(p_deployment text, p_expected integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_current integer;
BEGIN
    SELECT Version INTO v_current
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment
    FOR UPDATE;

    RETURN FOUND AND p_expected IS NOT NULL AND v_current = p_expected;
END
$fn$;

CREATE OR REPLACE FUNCTION mbr_bump_version(p_deployment text)
RETURNS void
LANGUAGE sql
AS $fn$
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1,
        LastUpdated = now()
    WHERE DeploymentId = p_deployment;
$fn$;

-- Adds a silo row. Succeeds (true) only if the table version still equals
-- p_version and no row exists yet for the same address/port/generation; in
-- that case the table version is incremented. Otherwise nothing is changed
-- and false is returned.
CREATE OR REPLACE FUNCTION mbr_add_silo(
    p_deployment text,
    p_address    text,
    p_port       integer,
    p_generation integer,
    p_silo_name  text,
    p_host_name  text,
    p_status     integer,
    p_proxy_port integer,
    p_start      timestamptz,
    p_alive      timestamptz,
    p_version    integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF NOT mbr_lock_version(p_deployment, p_version) THEN
        RETURN false;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, SuspectTimes, StartTime, IAmAliveTime)
    VALUES
        (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name,
         p_status, p_proxy_port, NULL, p_start, p_alive)
    ON CONFLICT ON CONSTRAINT pk_orleans_mbr DO NOTHING;

    IF NOT FOUND THEN
        RETURN false;          -- row already present: version left untouched
    END IF;

    PERFORM mbr_bump_version(p_deployment);
    RETURN true;
END
$fn$;

-- Rewrites status / suspicions / heartbeat of an existing silo row under the
-- same version check as mbr_add_silo. A missing row is a failed write and does
-- not consume a version.
CREATE OR REPLACE FUNCTION mbr_change_silo(
    p_deployment text,
    p_address    text,
    p_port       integer,
    p_generation integer,
    p_status     integer,
    p_suspects   text,
    p_alive      timestamptz,
    p_version    integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF NOT mbr_lock_version(p_deployment, p_version) THEN
        RETURN false;
    END IF;

    UPDATE OrleansMembershipTable
    SET Status       = p_status,
        SuspectTimes = p_suspects,
        IAmAliveTime = p_alive
    WHERE DeploymentId = p_deployment
      AND Address      = p_address
      AND Port         = p_port
      AND Generation   = p_generation;

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    PERFORM mbr_bump_version(p_deployment);
    RETURN true;
END
$fn$;

-- Removes every trace of one cluster (silo rows first, then its version row).
CREATE OR REPLACE FUNCTION mbr_forget_cluster(p_deployment text)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_rows integer;
BEGIN
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = p_deployment;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = p_deployment;
    RETURN v_rows;
END
$fn$;

-- Per-row defunct cleanup (CleanupDefunctSiloEntryKey). The provider has
-- already decided in .NET that the row is Dead and older than the cutoff; it
-- passes back the values it read. The row is deleted only if it is still Dead
-- and those captured values are unchanged, so a concurrent update wins.
-- Empty / whitespace SuspectTimes is treated like NULL, as the reader does.
CREATE OR REPLACE FUNCTION mbr_drop_dead_silo(
    p_deployment text,
    p_address    text,
    p_port       integer,
    p_generation integer,
    p_start      timestamptz,
    p_alive      timestamptz,
    p_suspects   text)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_rows integer;
BEGIN
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = p_deployment
      AND Address      = p_address
      AND Port         = p_port
      AND Generation   = p_generation
      AND Status       = 6
      AND StartTime    = p_start
      AND IAmAliveTime = p_alive
      AND coalesce(nullif(btrim(SuspectTimes), ''), '')
          = coalesce(nullif(btrim(p_suspects), ''), '');
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$fn$;

-- ---------------------------------------------------------------------------
-- Query rows. Parameter names are exactly the ones the provider binds.
-- ---------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Client/gateway side: active silos that expose a gateway port.
-- Binds @DeploymentId, @Status (= 3, Active). Reads Address, ProxyPort, Generation.
('GatewaysQueryKey', $q$
SELECT m.Address, m.ProxyPort, m.Generation
FROM OrleansMembershipTable AS m
WHERE m.DeploymentId = @DeploymentId
  AND m.Status = @Status
  AND m.ProxyPort > 0;
$q$),

-- One silo plus the table version. The version row drives the result (LEFT
-- JOIN) so that a missing silo still yields one row carrying Version with
-- NULL StartTime, which the provider reads as "no entry".
('MembershipReadRowKey', $q$
SELECT v.Version,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address      = @Address
      AND m.Port         = @Port
      AND m.Generation   = @Generation
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- All silos plus the table version (same row shape as MembershipReadRowKey).
('MembershipReadAllKey', $q$
SELECT v.Version,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
       m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- Single boolean column: true when the version row was created now.
('InsertMembershipVersionKey', $q$
SELECT mbr_ensure_version_row(@DeploymentId) AS created;
$q$),

-- Heartbeat: touches IAmAliveTime only; never changes the table version.
('UpdateIAmAlivetimeKey', $q$
UPDATE OrleansMembershipTable
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId
  AND Address      = @Address
  AND Port         = @Port
  AND Generation   = @Generation;
$q$),

-- Single boolean column: true when the silo row was inserted.
('InsertMembershipKey', $q$
SELECT mbr_add_silo(@DeploymentId, @Address, @Port, @Generation, @SiloName,
                    @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime,
                    @Version) AS applied;
$q$),

-- Single boolean column: true when the silo row was updated.
('UpdateMembershipKey', $q$
SELECT mbr_change_silo(@DeploymentId, @Address, @Port, @Generation, @Status,
                       @SuspectTimes, @IAmAliveTime, @Version) AS applied;
$q$),

('DeleteMembershipTableEntriesKey', $q$
SELECT mbr_forget_cluster(@DeploymentId) AS removed;
$q$),

-- Required by the 10.4.2 provider at start-up, but only executed when
-- CleanupDefunctSiloEntryKey is absent. Bulk fallback: Dead silos whose
-- start and last heartbeat are both older than the cutoff (@IAmAliveTime).
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Status = 6
  AND StartTime < @IAmAliveTime
  AND IAmAliveTime < @IAmAliveTime;
$q$),

-- Optional in 10.4.2; when present the provider uses it instead of the key
-- above, once per candidate row, with the values it read for that row.
('CleanupDefunctSiloEntryKey', $q$
SELECT mbr_drop_dead_silo(@DeploymentId, @Address, @Port, @Generation,
                          @StartTime, @IAmAliveTime, @SuspectTimes) AS removed;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
