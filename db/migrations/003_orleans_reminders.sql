-- 003_orleans_reminders.sql
--
-- Reminder table for Microsoft.Orleans.Reminders.AdoNet 10.4.2
-- (invariant "Npgsql", PostgreSQL 15). Written for this project from the
-- provider's contract; see db/CONTRACT.md. Runs once inside the runner's
-- transaction (no BEGIN/COMMIT here); statements are re-runnable anyway.
--
-- The 10.4.2 reminder provider binds only the classic reminder fields
-- (no cron / priority / next-due columns).
--
-- Result rows of every read are GrainId, ReminderName, StartTime, Period,
-- Version. GrainId is the text form of Orleans GrainId ("type/key"); GrainHash
-- is GrainId.GetUniformHashCode() (a uint) bound as a signed int, so ring
-- ranges are compared in signed order (see ReadRangeRows1Key/2Key). Period is
-- in milliseconds; the provider binds it as int or, above int.MaxValue, as
-- bigint, and reads it back with GetInt64, hence bigint. Version is the etag.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT pk_orleansquery PRIMARY KEY (QueryKey)
);

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150) NOT NULL,
    GrainId      text         NOT NULL,
    ReminderName text         NOT NULL,
    StartTime    timestamptz  NOT NULL,
    Period       bigint       NOT NULL,
    GrainHash    integer      NOT NULL,
    Version      integer      NOT NULL,
    CONSTRAINT pk_orleans_reminders PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Serves the ring-range scans done by each silo's reminder service.
CREATE INDEX IF NOT EXISTS ix_orleans_reminders_hash
    ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Binds @ServiceId, @GrainId. All reminders of one grain.
('ReadReminderRowsKey', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainId = @GrainId;
$q$),

-- Binds @ServiceId, @GrainId, @ReminderName. Zero or one row.
('ReadReminderRowKey', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainId = @GrainId
  AND r.ReminderName = @ReminderName;
$q$),

-- Binds @ServiceId, @BeginHash, @EndHash. Used when (int)begin < (int)end:
-- the range (begin, end] does not wrap.
('ReadRangeRows1Key', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainHash > @BeginHash
  AND r.GrainHash <= @EndHash;
$q$),

-- Same bindings. Used otherwise: the range wraps past int.MaxValue (or is the
-- full ring when begin = end), so it is (begin, max] union [min, end].
('ReadRangeRows2Key', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND (r.GrainHash > @BeginHash OR r.GrainHash <= @EndHash);
$q$),

-- Binds @ServiceId, @GrainHash, @GrainId, @ReminderName, @StartTime, @Period.
-- Inserts with Version 0 or overwrites and bumps Version; returns one row
-- with column Version (the new etag).
('UpsertReminderRowKey', $q$
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT ON CONSTRAINT pk_orleans_reminders DO UPDATE
    SET StartTime = EXCLUDED.StartTime,
        Period    = EXCLUDED.Period,
        GrainHash = EXCLUDED.GrainHash,
        Version   = r.Version + 1
RETURNING r.Version;
$q$),

-- Binds @ServiceId, @GrainId, @ReminderName, @Version (etag as int).
-- Deletes only when the etag matches; single boolean column.
('DeleteReminderRowKey', $q$
WITH gone AS (
    DELETE FROM OrleansRemindersTable AS r
    WHERE r.ServiceId = @ServiceId
      AND r.GrainId = @GrainId
      AND r.ReminderName = @ReminderName
      AND r.Version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM gone) AS deleted;
$q$),

-- Binds @ServiceId. Test-only wipe of one service's reminders.
('DeleteReminderRowsKey', $q$
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
