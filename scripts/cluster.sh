#!/usr/bin/env bash
# More than one of everything on one machine. Adds and removes silos and frontends of the local cluster that
# ./run.sh started (same PostgreSQL, S3 and cluster id), or starts a whole local cluster on its own.
#
#   scripts/cluster.sh add-silo [SILO_PORT GATEWAY_PORT [HTTP_PORT]]
#                                                          a silo; free ports are chosen when none are given. Its HTTP
#                                                          port serves /metrics, /health/ready and /dashboard/
#   scripts/cluster.sh add-frontend [PORT]                 a frontend on http://127.0.0.1:PORT (free port if none)
#   scripts/cluster.sh list                                what this script started that still runs
#   scripts/cluster.sh remove NAME                         SIGTERM and wait: a silo drains and leaves the cluster
#   scripts/cluster.sh kill NAME                           SIGKILL: the cluster declares the silo dead by itself
#   scripts/cluster.sh lb [PORT]                           nginx on http://127.0.0.1:PORT (default 5070), round robin over
#                                                          the frontends this script runs; kept in step as they come and go
#   scripts/cluster.sh up N M                              PostgreSQL, S3, N silos, M frontends and the load balancer
#   scripts/cluster.sh down                                stops what this script started, then PostgreSQL and S3
#
# Processes run detached, with a log and a pid file each in $MEDIA_ENV_DIR/cluster (default .data/run/cluster).
# Everything binds to 127.0.0.1. Storage databases as ./run.sh: PG_SHARD_DBS (default media_s1; empty: one database)
# and SHARD_PG_PORT (default empty: in the same PostgreSQL) must be what the running cluster was started with.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export MEDIA_ENV_DIR=${MEDIA_ENV_DIR:-$ROOT/.data/run}
DIR=$MEDIA_ENV_DIR/cluster
mkdir -p "$DIR"
# The storage shard databases, as ./run.sh has them; shards an earlier eval in the caller's shell left behind go.
export PG_SHARD_DBS=${PG_SHARD_DBS-${PG_DB:-media}_s1}
unset "${!Storage__Shards__@}"

log() { echo "[cluster] $*" >&2; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port=$1
  while in_use "$port" || [ -n "$(grep -lx "$port" "$DIR"/*.ports 2>/dev/null)" ]; do port=$((port + 1)); done
  echo "$port"
}

built() {
  [ -f Silo/bin/Release/net10.0/Silo.dll ] && [ -f ApiFrontend/bin/Release/net10.0/ApiFrontend.dll ] && return
  log "building (Release)..."
  dotnet build Orleans.sln -c Release --nologo -v quiet -clp:ErrorsOnly
}

# Starts a detached process for NAME from a folder; records its pid and its ports.
launch() {
  local name=$1 folder=$2; shift 2
  (cd "$folder" && exec setsid "$@" >"$DIR/$name.log" 2>&1 </dev/null) &
  echo $! >"$DIR/$name.pid"
}

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

LB_DIR=$DIR/lb
frontend_ports() {
  local f
  for f in "$DIR"/frontend-*.ports; do [ -e "$f" ] && alive "$(basename "$f" .ports)" && cat "$f"; done
}
lb_running() { [ -f "$LB_DIR/port" ] && [ -f "$LB_DIR/nginx.pid" ] && kill -0 "$(cat "$LB_DIR/nginx.pid")" 2>/dev/null; }
# (Re)writes the load balancer's upstreams from the frontends that run now; a balancer with none would answer 502 only.
lb_sync() {
  lb_running || return 0
  local ports; ports=$(frontend_ports | tr '\n' ' ')
  [ -n "${ports// /}" ] || { log "load balancer keeps its last frontends (none runs now)"; return 0; }
  # shellcheck disable=SC2086
  scripts/lb.sh reload "$LB_DIR" "$(cat "$LB_DIR/port")" $ports
}
lb_start() {
  local port=${1:-5070} ports
  mkdir -p "$LB_DIR"
  ports=$(frontend_ports | tr '\n' ' ')
  [ -n "${ports// /}" ] || { log "no frontend runs: add one first (scripts/cluster.sh add-frontend)"; return 1; }
  echo "$port" >"$LB_DIR/port"
  # shellcheck disable=SC2086
  scripts/lb.sh start "$LB_DIR" "$port" $ports
  log "load balancer at http://127.0.0.1:$port"
}

add_silo() {
  built
  eval "$(scripts/env.sh env)"
  local silo=${1:-$(free_port 11112)} gateway=${2:-$(free_port 30001)} http name
  http=${3:-$(free_port 11181)}
  name=silo-$silo
  printf '%s\n%s\n%s\n' "$silo" "$gateway" "$http" >"$DIR/$name.ports"
  # A local cluster, like ./run.sh: webhooks may target this machine (a receiver on 127.0.0.1).
  launch "$name" Silo/bin/Release/net10.0 dotnet Silo.dll --Silo:SiloPort="$silo" --Silo:GatewayPort="$gateway" --Silo:HttpPort="$http" \
    --Webhooks:AllowPrivateTargets=true
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "http://127.0.0.1:$http/health/ready" 2>/dev/null && {
      log "$name up (silo port $silo, gateway $gateway, http://127.0.0.1:$http: /metrics /dashboard/; pid $(cat "$DIR/$name.pid"), log $DIR/$name.log)"
      echo "$name"; return; }
    alive "$name" || break
    sleep 0.5
  done
  log "$name did not start; see $DIR/$name.log"
  return 1
}

add_frontend() {
  built
  eval "$(scripts/env.sh env)"
  local port=${1:-$(free_port 5081)} name
  name=frontend-$port
  echo "$port" >"$DIR/$name.ports"
  launch "$name" ApiFrontend/bin/Release/net10.0 dotnet ApiFrontend.dll --urls "http://127.0.0.1:$port" \
    --Auth:BootstrapAdminKeyFile="$ROOT/.data/admin-api-key" --Auth:BootstrapUserKeyFile="$ROOT/.data/dev-api-key" \
    --Http:TrustedProxies:0=127.0.0.1 --Webhooks:AllowPrivateTargets=true
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && { log "$name up at http://127.0.0.1:$port (pid $(cat "$DIR/$name.pid"))"; lb_sync; echo "$name"; return; }
    alive "$name" || break
    sleep 0.5
  done
  log "$name did not become ready; see $DIR/$name.log"
  return 1
}

stop_one() {
  local name=$1 signal=$2 pid
  [ -f "$DIR/$name.pid" ] || { log "no process named $name (see: scripts/cluster.sh list)"; return 1; }
  pid=$(cat "$DIR/$name.pid")
  kill "-$signal" "$pid" 2>/dev/null || true
  # A silo's graceful shutdown takes up to Silo:ShutdownTimeout (30 s by default).
  for _ in $(seq 1 90); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "$name (pid $pid) still runs after 45 s"; return 1; }
  rm -f "$DIR/$name.pid" "$DIR/$name.ports"
  log "$name stopped ($signal)"
  case "$name" in frontend-*) lb_sync ;; esac
}

list() {
  local pidfile name
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if alive "$name"; then
      echo "$name pid $(cat "$pidfile") ports $(tr '\n' ' ' <"$DIR/$name.ports")"
    else
      rm -f "$pidfile" "$DIR/$name.ports"
    fi
  done
}

case "${1:-}" in
  add-silo) add_silo "${2:-}" "${3:-}" >/dev/null ;;
  add-frontend) add_frontend "${2:-}" >/dev/null ;;
  list) list; lb_running && echo "lb http://127.0.0.1:$(cat "$LB_DIR/port") pid $(cat "$LB_DIR/nginx.pid")" ;;
  lb) lb_start "${2:-}" ;;
  remove) stop_one "${2:?name}" TERM ;;
  kill) stop_one "${2:?name}" KILL ;;
  up)
    scripts/env.sh start
    built
    for _ in $(seq 1 "${2:-2}"); do add_silo >/dev/null; done
    for _ in $(seq 1 "${3:-1}"); do add_frontend >/dev/null; done
    [ "${3:-1}" -gt 0 ] && lb_start "${LB_PORT:-5070}"
    list
    ;;
  down)
    scripts/lb.sh stop "$LB_DIR" 2>/dev/null || true
    rm -f "$LB_DIR/port"
    for pidfile in "$DIR"/frontend-*.pid "$DIR"/silo-*.pid; do
      [ -e "$pidfile" ] && stop_one "$(basename "$pidfile" .pid)" TERM
    done
    scripts/env.sh stop
    ;;
  *) sed -n '2,19p' "$0" >&2; exit 2 ;;
esac
