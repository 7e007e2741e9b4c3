-- 007_quota_usage.sql
--
-- The index learns each unfinished upload's declared length, so that an owner's usage (stored bytes plus the bytes
-- their unfinished uploads announced) can be summed for quotas; the owner index serves that sum.

ALTER TABLE media_index ADD COLUMN IF NOT EXISTS declared_length bigint;
