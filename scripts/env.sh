#!/usr/bin/env bash
# The project's local environment: PostgreSQL 15 and s3rver on 127.0.0.1, in a folder of the project.
# Usage: scripts/env.sh deps | start | fresh | stop | status | migrate | env | psql [--shard] [ARGS...] |
#                       pg-kill [main|shard] | pg-start [main|shard] | s3-pause | s3-resume
#   pg-kill / pg-start: stop PostgreSQL at once (as a crash would: -m immediate) and start it again on the same port;
#                       main (the default): the cluster of PG_DB; shard: the second cluster (needs SHARD_PG_PORT).
#   psql: psql on PG_DB; psql --shard: on the first of PG_SHARD_DBS, in the cluster that holds it.
#   s3-pause / s3-resume: make s3rver hang (SIGSTOP: connections are accepted, nothing is answered) and go on again.
#   fresh: like start, but drops the databases and the stored objects first (what ./test.sh uses).
#   stop: both clusters and s3rver. status: the same (the second cluster's line only when SHARD_PG_PORT is set).
# Settings come from the environment (defaults are for ./run.sh; ./test.sh uses its own folder and ports):
#   MEDIA_ENV_DIR   data folder (default .data/run)      PG_PORT  PostgreSQL port (default 55432)
#   S3_PORT         s3rver port (default 54568)          PG_DB    database name (default media): the control
#   S3_BUCKET       bucket (default media)                        database (membership, reminders, keys, webhooks)
#   PG_SHARD_DBS    more databases for media items' storage shards (space-separated names, default none): created,
#                   dropped by fresh and migrated like PG_DB. `env` prints their names (MEDIA_SHARD_DBS) and, when
#                   there is one at least, the shards: Storage__Shards__db0 = PG_DB (the control database holds
#                   shard database db0 too), Storage__Shards__db<i> = the i-th name (1-based), MEDIA_SHARD_PG_PORT
#   SHARD_PG_PORT   empty (default): PG_SHARD_DBS are in the same PostgreSQL as PG_DB. A port: they are in a second
#                   PostgreSQL cluster of their own on that port (in $MEDIA_ENV_DIR/pg-shard, same PG_EXTRA_CONF)
#   PG_EXTRA_CONF   lines added to postgresql.conf when a cluster is created
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MEDIA_ENV_DIR=${MEDIA_ENV_DIR:-$ROOT/.data/run}
PG_PORT=${PG_PORT:-55432}
S3_PORT=${S3_PORT:-54568}
PG_DB=${PG_DB:-media}
PG_SHARD_DBS=${PG_SHARD_DBS:-}
SHARD_PG_PORT=${SHARD_PG_PORT:-}
S3_BUCKET=${S3_BUCKET:-media}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# initdb refuses to run as root: as root the cluster belongs to Debian's postgres user, otherwise to the caller.
if [ "$(id -u)" -eq 0 ]; then PG_USER=postgres; else PG_USER=$(id -un); fi

# A cluster is a folder (data/, sock/, log/postgres.log in it) and a port. The main one holds PG_DB; the shard
# databases are in the second one when SHARD_PG_PORT is set, in the main one otherwise.
PG_MAIN=$MEDIA_ENV_DIR/pg
PG_SHARD=$MEDIA_ENV_DIR/pg-shard
read -ra SHARD_DBS <<<"$PG_SHARD_DBS"
if [ -n "$SHARD_PG_PORT" ]; then
  SHARD_PORT=$SHARD_PG_PORT MAIN_DBS=("$PG_DB")
else
  SHARD_PORT=$PG_PORT MAIN_DBS=("$PG_DB" "${SHARD_DBS[@]}")
fi
S3_DIR=$MEDIA_ENV_DIR/s3
S3_PID=$MEDIA_ENV_DIR/s3/s3rver.pid
S3_LOG=$MEDIA_ENV_DIR/s3/s3rver.log

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

log() { printf '[env] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

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

# Refuses settings that would give a broken layout (by the commands that make, use or print databases).
check_config() {
  local db seen=" "
  if [ -n "$SHARD_PG_PORT" ]; then
    [[ "$SHARD_PG_PORT" =~ ^[0-9]+$ ]] || die "SHARD_PG_PORT must be a port number (is '$SHARD_PG_PORT')"
    [ "$SHARD_PG_PORT" != "$PG_PORT" ] || die "SHARD_PG_PORT must differ from PG_PORT ($PG_PORT)"
    ((${#SHARD_DBS[@]})) || log "warning: SHARD_PG_PORT is set but PG_SHARD_DBS is empty: the second cluster holds no database"
  else
    seen=" $PG_DB "
  fi
  for db in "${SHARD_DBS[@]}"; do
    [[ "$db" =~ ^[A-Za-z0-9_-]+$ ]] || die "PG_SHARD_DBS: '$db' is not a plain database name (letters, digits, _ and -)"
    case "$seen" in *" $db "*) die "PG_SHARD_DBS: $db is named twice in one cluster (PG_DB: $PG_DB, PG_SHARD_DBS: $PG_SHARD_DBS)" ;; esac
    seen+="$db "
  done
}

cluster_name() { if [ "$1" = "$PG_SHARD" ]; then echo "PostgreSQL (shard cluster)"; else echo PostgreSQL; fi; }

# The cluster that pg-kill / pg-start name (main, the default, or shard): sets C_DIR and C_PORT.
cluster_arg() {
  case "${1:-main}" in
    main) C_DIR=$PG_MAIN C_PORT=$PG_PORT ;;
    shard)
      [ -n "$SHARD_PG_PORT" ] || die "no shard cluster: SHARD_PG_PORT is not set (the shard databases are in the main one)"
      C_DIR=$PG_SHARD C_PORT=$SHARD_PG_PORT ;;
    *) die "unknown cluster '$1' (main or shard)" ;;
  esac
}

# pg_running DIR
pg_running() {
  [ -f "$1/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# psql_db PORT PSQL-ARGUMENTS...
psql_db() {
  local port=$1; shift
  PGOPTIONS="--client-min-messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$PG_USER" "$@"
}

# pg_up DIR PORT: starts the cluster in DIR (made by start_pg) on PORT.
pg_up() {
  as_pg "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/log/postgres.log" -o "-p $2" -w -t 60 start >/dev/null
  log "$(cluster_name "$1") started on 127.0.0.1:$2"
}

# start_pg DIR PORT DB...: makes the cluster if there is none, starts it unless it runs, creates the databases missing.
start_pg() {
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir/log" "$dir/sock"
  # Every parent folder must be traversable by the postgres user.
  local d=$MEDIA_ENV_DIR
  while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  [ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$dir"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $dir/data"
    mkdir -p "$dir/data" && chown "$PG_USER" "$dir/data" 2>/dev/null; chmod 700 "$dir/data"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" -A trust -E UTF8 --no-locale >/dev/null
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 200
${PG_EXTRA_CONF:-}
CONF
  fi
  if pg_running "$dir"; then
    log "$(cluster_name "$dir") already running on 127.0.0.1:$port"
  else
    pg_up "$dir" "$port"
  fi
  local db
  for db in "$@"; do
    if ! psql_db "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql_db "$port" -d postgres -c "CREATE DATABASE \"$db\""
      log "database $db created"
    fi
  done
}

start_clusters() {
  start_pg "$PG_MAIN" "$PG_PORT" "${MAIN_DBS[@]}"
  [ -z "$SHARD_PG_PORT" ] || start_pg "$PG_SHARD" "$SHARD_PG_PORT" "${SHARD_DBS[@]}"
}

# Every database as PORT:NAME, the control database first.
databases() {
  local db
  for db in "${MAIN_DBS[@]}"; do echo "$PG_PORT:$db"; done
  if [ -n "$SHARD_PG_PORT" ]; then
    for db in "${SHARD_DBS[@]}"; do echo "$SHARD_PG_PORT:$db"; done
  fi
}

# Drops the databases and the bucket's objects (tests start from nothing; migrations are applied anew).
reset_data() {
  local db
  if pg_running "$PG_MAIN"; then
    for db in "${MAIN_DBS[@]}"; do
      psql_db "$PG_PORT" -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    done
  fi
  if [ -n "$SHARD_PG_PORT" ] && pg_running "$PG_SHARD"; then
    for db in "${SHARD_DBS[@]}"; do
      psql_db "$SHARD_PG_PORT" -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
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

# Applies db/migrations/NNN_*.sql in order, each once, each in its own transaction, to every database, in its own
# cluster (a shard database gets the same schema; the tables it does not use stay empty).
migrate() {
  local entry port db f v
  for entry in $(databases); do
    port=${entry%%:*} db=${entry#*:}
    psql_db "$port" -d "$db" -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())" >/dev/null
    for f in "$ROOT"/db/migrations/[0-9][0-9][0-9]_*.sql; do
      [ -e "$f" ] || continue
      v=$(basename "$f" .sql)
      if [ -z "$(psql_db "$port" -d "$db" -tAc "SELECT 1 FROM schema_migrations WHERE version = '$v'")" ]; then
        log "applying migration $v to $db"
        { echo "BEGIN;"; cat "$f"; echo; echo "INSERT INTO schema_migrations (version) VALUES ('$v');"; echo "COMMIT;"; } \
          | psql_db "$port" -d "$db" -f - >/dev/null
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
  # Both clusters; the second one even when SHARD_PG_PORT is not set now (left running by an earlier start).
  local dir
  for dir in "$PG_MAIN" "$PG_SHARD"; do
    if pg_running "$dir"; then
      as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
      log "$(cluster_name "$dir") stopped"
    fi
  done
}

# The settings the silo, the frontend and the tests read (ASP.NET configuration keys as env vars).
MAIN_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=$PG_DB;Username=$PG_USER;Maximum Pool Size=50"
print_env() {
  cat <<VARS
export ConnectionStrings__Media="$MAIN_CONNECTION"
export S3__ServiceUrl="http://127.0.0.1:$S3_PORT"
export S3__Bucket="$S3_BUCKET"
export S3__AccessKey="S3RVER"
export S3__SecretKey="S3RVER"
export MEDIA_SHARD_DBS="$PG_SHARD_DBS"
VARS
  # The storage shard databases, named db0, db1, ...: db0 is the control database. None: one database, as before.
  ((${#SHARD_DBS[@]})) || return 0
  local i=0 db
  echo "export Storage__Shards__db0=\"$MAIN_CONNECTION\""
  for db in "${SHARD_DBS[@]}"; do
    i=$((i + 1))
    echo "export Storage__Shards__db$i=\"Host=127.0.0.1;Port=$SHARD_PORT;Database=$db;Username=$PG_USER;Maximum Pool Size=50\""
  done
  echo "export MEDIA_SHARD_PG_PORT=\"$SHARD_PORT\""
}

status() {
  pg_running "$PG_MAIN" && echo "postgres: running" || echo "postgres: stopped"
  if [ -n "$SHARD_PG_PORT" ]; then pg_running "$PG_SHARD" && echo "postgres-shard: running" || echo "postgres-shard: stopped"; fi
  s3_running && echo "s3rver: running" || echo "s3rver: stopped"
}

# psql on PG_DB, or (--shard first) on the first shard database.
psql_cmd() {
  if [ "${1:-}" = --shard ]; then
    shift
    ((${#SHARD_DBS[@]})) || die "psql --shard: PG_SHARD_DBS is empty"
    psql_db "$SHARD_PORT" -d "${SHARD_DBS[0]}" "$@"
  else
    psql_db "$PG_PORT" -d "$PG_DB" "$@"
  fi
}

case "${1:-}" in
  deps) deps ;;
  start) check_config; deps; start_clusters; migrate; start_s3 ;;
  fresh) check_config; deps; start_clusters; reset_data; start_clusters; migrate; start_s3 ;;
  migrate) check_config; migrate ;;
  stop) stop_all ;;
  status) status ;;
  env) check_config; print_env ;;
  psql) shift; psql_cmd "$@" ;;
  pg-kill)
    cluster_arg "${2:-}"
    as_pg "$PG_BIN/pg_ctl" -D "$C_DIR/data" -m immediate -w stop >/dev/null; log "$(cluster_name "$C_DIR") killed (immediate stop)" ;;
  pg-start) cluster_arg "${2:-}"; pg_up "$C_DIR" "$C_PORT" ;;
  s3-pause) kill -STOP "$(cat "$S3_PID")"; log "s3rver paused (hung)" ;;
  s3-resume) kill -CONT "$(cat "$S3_PID")"; log "s3rver resumed" ;;
  *)
    echo "usage: $0 deps|start|fresh|stop|status|migrate|env|psql [--shard]|pg-kill [main|shard]|pg-start [main|shard]|s3-pause|s3-resume" >&2
    exit 2 ;;
esac
