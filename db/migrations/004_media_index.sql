-- 004_media_index.sql
--
-- The search index of media items: one row per item, written by the item's grain after its state (an upsert that
-- only a newer version may overwrite), deleted with the item. Scoped by the Orleans ServiceId, like grain state.
-- Runs once inside the runner's transaction.

-- array_to_string is only STABLE (for arrays of any type); for text[] it is immutable, which a generated column needs.
CREATE OR REPLACE FUNCTION media_index_words(words text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(words, ' ') $$;

CREATE TABLE IF NOT EXISTS media_index
(
    service_id   text        NOT NULL,
    media_id     bigint      NOT NULL,
    version      bigint      NOT NULL,
    status       text        NOT NULL,
    processing   text,
    kind         text,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    file_name    text,
    title        text,
    description  text,
    tags         text[]      NOT NULL DEFAULT '{}',
    keywords     text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    indexed_at   timestamptz NOT NULL DEFAULT now(),
    document     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(media_index_words(keywords), '')), 'B')
        || setweight(to_tsvector('english', coalesce(description, '')), 'C')) STORED,
    PRIMARY KEY (service_id, media_id)
);

-- Tags: all must match (tags @> array[...]).
CREATE INDEX IF NOT EXISTS media_index_tags ON media_index USING gin (tags);
-- Free text over title, keywords and description.
CREATE INDEX IF NOT EXISTS media_index_document ON media_index USING gin (document);
-- Newest first, with the id as the tie-breaker of the keyset.
CREATE INDEX IF NOT EXISTS media_index_created ON media_index (service_id, created_at DESC, media_id DESC);
