#!/usr/bin/env bash
# The project's local environment: PostgreSQL 15 and s3rver on 127.0.0.1, in a folder of the project.
# Usage: scripts/env.sh deps | start | fresh | stop | status | migrate | env | psql | pg-kill | pg-start | s3-pause | s3-resume
#   pg-kill / pg-start: stop PostgreSQL at once (as a crash would: -m immediate) and start it again on the same port.
#   s3-pause / s3-resume: make s3rver hang (SIGSTOP: connections are accepted, nothing is answered) and go on again.
#   fresh: like start, but drops the database and the stored objects first (what ./test.sh uses).
# Settings come from the environment (defaults are for ./run.sh; ./test.sh uses its own folder and ports):
#   MEDIA_ENV_DIR   data folder (default .data/run)      PG_PORT  PostgreSQL port (default 55432)
#   S3_PORT         s3rver port (default 54568)          PG_DB    database name (default media)
#   S3_BUCKET       bucket (default media)
#   PG_SHARD_DBS    more databases in the same PostgreSQL for media items' storage shards (space-separated names,
#                   default none): created, dropped by fresh and migrated like PG_DB; `env` prints their names
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEDIA_ENV_DIR=${MEDIA_ENV_DIR:-$ROOT/.data/run}
PG_PORT=${PG_PORT:-55432}
S3_PORT=${S3_PORT:-54568}
PG_DB=${PG_DB:-media}
PG_SHARD_DBS=${PG_SHARD_DBS:-}
S3_BUCKET=${S3_BUCKET:-media}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# initdb refuses to run as root: as root the cluster belongs to Debian's postgres user, otherwise to the caller.
if [ "$(id -u)" -eq 0 ]; then PG_USER=postgres; else PG_USER=$(id -un); fi

PGDATA_DIR=$MEDIA_ENV_DIR/pg/data
PG_SOCK=$MEDIA_ENV_DIR/pg/sock
PG_LOG=$MEDIA_ENV_DIR/pg/log/postgres.log
S3_DIR=$MEDIA_ENV_DIR/s3
S3_PID=$MEDIA_ENV_DIR/s3/s3rver.pid
S3_LOG=$MEDIA_ENV_DIR/s3/s3rver.log

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

log() { printf '[env] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs what is missing: Debian's PostgreSQL 15, ffmpeg and libheif's tools, Node.js/npm, and the pinned s3rver.
deps() {
  local missing=()
  [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15 postgresql-client-15)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # nginx: the round-robin entry point in front of the frontends (scripts/lb.sh, scripts/cluster.sh, the fault suite).
  command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
  # libheif's tools: HEIC and AVIF photos are decoded (and AVIF renditions encoded) by them, in the processing sandbox.
  command -v heif-convert >/dev/null 2>&1 || missing+=(libheif-examples)
  # Debian's Chromium (and a font for its pages): the browser test drives it with playwright-core (web/).
  [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt)"
    # Packages must not start services of their own (nginx would listen on every address at port 80).
    local guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null && as_root chmod 755 /usr/sbin/policy-rc.d && guard=1
    fi
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
      [ -n "$guard" ] && as_root rm -f /usr/sbin/policy-rc.d
      # ffmpeg and libheif are needed by media processing only; without PostgreSQL or Node nothing can run.
      if [ -x "$PG_BIN/initdb" ] && command -v node >/dev/null && command -v npm >/dev/null && command -v curl >/dev/null; then
        log "warning: could not install ${missing[*]}; continuing without it"
      else
        log "could not install ${missing[*]} (run as root or with sudo)"
        exit 1
      fi
    fi
    [ -n "$guard" ] && as_root rm -f /usr/sbin/policy-rc.d
  fi
  if [ ! -x "$ROOT/tools/s3/node_modules/.bin/s3rver" ]; then
    log "installing s3rver (npm ci, pinned by tools/s3/package-lock.json)"
    (cd "$ROOT/tools/s3" && npm ci --no-audit --no-fund --silent)
  fi
}

pg_running() {
  [ -f "$PGDATA_DIR/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

psql_db() {
  PGOPTIONS="--client-min-messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$@"
}

start_pg() {
  mkdir -p "$MEDIA_ENV_DIR/pg/log" "$PG_SOCK"
  # Every parent folder must be traversable by the postgres user.
  local d=$MEDIA_ENV_DIR
  while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  [ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$MEDIA_ENV_DIR/pg"
  if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $PGDATA_DIR"
    mkdir -p "$PGDATA_DIR" && chown "$PG_USER" "$PGDATA_DIR" 2>/dev/null; chmod 700 "$PGDATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$PG_USER" -A trust -E UTF8 --no-locale >/dev/null
    cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCK'
max_connections = 200
${PG_EXTRA_CONF:-}
CONF
  fi
  if pg_running; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null
    log "PostgreSQL started on 127.0.0.1:$PG_PORT"
  fi
  local db
  for db in $PG_DB $PG_SHARD_DBS; do
    if ! psql_db -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql_db -d postgres -c "CREATE DATABASE \"$db\""
      log "database $db created"
    fi
  done
}

# Drops the database and the bucket's objects (tests start from nothing; migrations are applied anew).
reset_data() {
  if pg_running; then
    local db
    for db in $PG_DB $PG_SHARD_DBS; do
      psql_db -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    done
  fi
  if s3_running; then
    local pid i
    pid=$(cat "$S3_PID")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$S3_PID"
  fi
  rm -rf "$S3_DIR/data"
}

# Applies db/migrations/NNN_*.sql in order, each once, each in its own transaction, to every database (a shard
# database gets the same schema; the tables it does not use stay empty).
migrate() {
  local db f v
  for db in $PG_DB $PG_SHARD_DBS; do
    psql_db -d "$db" -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null
    for f in "$ROOT"/db/migrations/[0-9][0-9][0-9]_*.sql; do
      [ -e "$f" ] || continue
      v=$(basename "$f" .sql)
      if [ -z "$(psql_db -d "$db" -tAc "SELECT 1 FROM schema_migrations WHERE version = '$v'")" ]; then
        log "applying migration $v to $db"
        { echo "BEGIN;"; cat "$f"; echo; echo "INSERT INTO schema_migrations (version) VALUES ('$v');"; echo "COMMIT;"; } \
          | psql_db -d "$db" -f - >/dev/null
      fi
    done
  done
}

s3_running() {
  [ -f "$S3_PID" ] && kill -0 "$(cat "$S3_PID")" 2>/dev/null
}

start_s3() {
  mkdir -p "$S3_DIR/data"
  if s3_running; then
    log "s3rver already running on 127.0.0.1:$S3_PORT"
  else
    # setsid: the server outlives this script, and a terminal's Ctrl-C reaches it only through stop.
    setsid "$ROOT/tools/s3/node_modules/.bin/s3rver" -d "$S3_DIR/data" -a 127.0.0.1 -p "$S3_PORT" \
      --silent --configure-bucket "$S3_BUCKET" >"$S3_LOG" 2>&1 < /dev/null &
    echo $! >"$S3_PID"
    local i
    for i in $(seq 1 100); do
      curl -fsS -o /dev/null "http://127.0.0.1:$S3_PORT/" 2>/dev/null && break
      kill -0 "$(cat "$S3_PID")" 2>/dev/null || { cat "$S3_LOG" >&2; log "s3rver failed to start"; exit 1; }
      sleep 0.1
    done
    log "s3rver started on 127.0.0.1:$S3_PORT (bucket $S3_BUCKET)"
  fi
}

stop_all() {
  if s3_running; then
    local pid i
    pid=$(cat "$S3_PID")
    kill -CONT "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    # Wait for the port to be free, so that an immediate restart can bind it.
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "s3rver stopped"
  fi
  rm -f "$S3_PID"
  if pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
    log "PostgreSQL stopped"
  fi
}

# The settings the silo, the frontend and the tests read (ASP.NET configuration keys as env vars).
print_env() {
  cat <<VARS
export ConnectionStrings__Media="Host=127.0.0.1;Port=$PG_PORT;Database=$PG_DB;Username=$PG_USER;Maximum Pool Size=50"
export S3__ServiceUrl="http://127.0.0.1:$S3_PORT"
export S3__Bucket="$S3_BUCKET"
export S3__AccessKey="S3RVER"
export S3__SecretKey="S3RVER"
export MEDIA_SHARD_DBS="$PG_SHARD_DBS"
VARS
}

case "${1:-}" in
  deps) deps ;;
  start) deps; start_pg; migrate; start_s3 ;;
  fresh) deps; start_pg; reset_data; start_pg; migrate; start_s3 ;;
  migrate) migrate ;;
  stop) stop_all ;;
  status) pg_running && echo "postgres: running" || echo "postgres: stopped"; s3_running && echo "s3rver: running" || echo "s3rver: stopped" ;;
  env) print_env ;;
  psql) shift; psql_db -d "$PG_DB" "$@" ;;
  pg-kill) as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null; log "PostgreSQL killed (immediate stop)" ;;
  pg-start) as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 60 start >/dev/null; log "PostgreSQL started on 127.0.0.1:$PG_PORT" ;;
  s3-pause) kill -STOP "$(cat "$S3_PID")"; log "s3rver paused (hung)" ;;
  s3-resume) kill -CONT "$(cat "$S3_PID")"; log "s3rver resumed" ;;
  *) echo "usage: $0 deps|start|fresh|stop|status|migrate|env|psql|pg-kill|pg-start|s3-pause|s3-resume" >&2; exit 2 ;;
esac
