#!/bin/sh
# Applies the database migrations to $DATABASE_URL, exactly like `scripts/env.sh migrate`:
# db/migrations/NNN_*.sql (copied to $MIGRATIONS_DIR) in order, each at most once, each in its own transaction,
# recorded in schema_migrations(version, applied_at) with version = the file name without .sql.
# Waits first until the database answers (up to $MIGRATE_WAIT_SECONDS, default 120).
# Run once at a time (one Job): two runs at once would not corrupt anything (the second one's INSERT into
# schema_migrations fails and its transaction rolls back), but one of them would exit with an error.
set -eu

: "${DATABASE_URL:?DATABASE_URL is not set (a libpq URL, e.g. postgresql://media:secret@postgres:5432/media)}"
MIGRATIONS_DIR=${MIGRATIONS_DIR:-/migrations}
MIGRATE_WAIT_SECONDS=${MIGRATE_WAIT_SECONDS:-120}
# A connection attempt to an unreachable host gives up after this many seconds instead of hanging.
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

log() { printf '[migrate] %s\n' "$*" >&2; }

psql_db() {
  PGOPTIONS="--client-min-messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"
}

# Wait until the database accepts connections and queries (credentials included, unlike pg_isready).
waited=0
until psql_db -tAc "SELECT 1" >/dev/null 2>&1; do
  if [ "$waited" -ge "$MIGRATE_WAIT_SECONDS" ]; then
    log "the database did not answer within ${MIGRATE_WAIT_SECONDS}s; last error:"
    psql_db -tAc "SELECT 1" >/dev/null || true
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

psql_db -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"

found=0
applied=0
for f in "$MIGRATIONS_DIR"/[0-9][0-9][0-9]_*.sql; do
  [ -e "$f" ] || continue
  found=$((found + 1))
  v=$(basename "$f" .sql)
  case $v in
    *[!A-Za-z0-9_.-]*) log "refusing migration file name '$v' (letters, digits, _ . - only)"; exit 1 ;;
  esac
  done_already=$(psql_db -tAc "SELECT 1 FROM schema_migrations WHERE version = '$v'")
  if [ -z "$done_already" ]; then
    log "applying migration $v"
    { echo "BEGIN;"; cat "$f"; echo; echo "INSERT INTO schema_migrations (version) VALUES ('$v');"; echo "COMMIT;"; } \
      | psql_db -f - >/dev/null
    applied=$((applied + 1))
  fi
done

if [ "$found" -eq 0 ]; then
  log "no migrations found in $MIGRATIONS_DIR (expected NNN_*.sql files)"
  exit 1
fi
log "schema up to date: $applied of $found migrations applied now"
