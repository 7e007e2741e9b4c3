# Sourced by the benchmarks: starts PostgreSQL, s3rver, one silo and one frontend (Release) in .data/bench on
# their own ports, and stops everything on exit. Sets API_PORT, FRONTEND_PID, SILO_PID, S3 (the bucket's URL),
# MEDIA_API_KEY and AUTH (curl's header arguments).
#   SHARDS (default 1): storage shard databases. 1: one database (media_bench) for everything; N > 1: media_bench
#     (the control database, shard database db0 too) and media_bench_s1 .. media_bench_s<N-1> (db1 ..).
#   SHARD_PG_PORT (default empty: the shard databases in the same PostgreSQL, 55434): a port, e.g. 55444, puts
#     media_bench_s1 .. in a second PostgreSQL cluster of their own on it (.data/bench/pg-shard). Ignored when SHARDS=1.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
API_PORT=${BENCH_API_PORT:-5090}
export MEDIA_ENV_DIR=$ROOT/.data/bench PG_PORT=55434 S3_PORT=54570 PG_DB=media_bench S3_BUCKET=media-bench
SHARDS=${SHARDS:-1}
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "stack.sh: SHARDS must be 1 or more (is '$SHARDS')" >&2; exit 2; }
export PG_SHARD_DBS=""
for ((_shard = 1; _shard < SHARDS; _shard++)); do PG_SHARD_DBS+="${PG_SHARD_DBS:+ }${PG_DB}_s$_shard"; done
if [ "$SHARDS" -eq 1 ] && [ -n "${SHARD_PG_PORT:-}" ]; then
  echo "stack.sh: SHARDS=1 (one database): SHARD_PG_PORT=$SHARD_PG_PORT ignored" >&2
  unset SHARD_PG_PORT
fi
[ -z "${SHARD_PG_PORT:-}" ] || export SHARD_PG_PORT

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/env.sh stop
}
trap cleanup EXIT

scripts/env.sh fresh
# Shards of an earlier stack in this shell (or of the caller's eval) go: only this one's are configured.
unset "${!Storage__Shards__@}"
eval "$(scripts/env.sh env)"
[ -d tests/interop/node_modules/tus-js-client ] || (cd tests/interop && npm ci --no-audit --no-fund --silent)
dotnet build Orleans.sln -c Release --nologo -v quiet -clp:ErrorsOnly

(cd Silo/bin/Release/net10.0 && exec dotnet Silo.dll --Orleans:ClusterId=bench --Silo:SiloPort=11191 --Silo:GatewayPort=30091 --Silo:HttpPort=11190 \
  --Logging:LogLevel:Default=Warning) &
SILO_PID=$!
pids+=($SILO_PID)
# The benchmarks measure the service, not its rate limits: every class far above what they send (unless
# BENCH_LIMITS=default, for the benchmark of the default limits themselves).
if [ "${BENCH_LIMITS:-raised}" = raised ]; then
  for class in Create Append Read Search Admin UploadKib; do
    export "RateLimits__${class}__PerSecond=1000000" "RateLimits__${class}__Burst=1000000"
  done
fi
(cd ApiFrontend/bin/Release/net10.0 && exec dotnet ApiFrontend.dll --Orleans:ClusterId=bench --urls "http://127.0.0.1:$API_PORT" \
  --Logging:LogLevel:Default=Warning --Auth:BootstrapAdminKeyFile="$MEDIA_ENV_DIR/admin-api-key" --Auth:BootstrapUserKeyFile="$MEDIA_ENV_DIR/dev-api-key") &
FRONTEND_PID=$!
pids+=($FRONTEND_PID)
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/health/ready" 2>/dev/null && break
  sleep 0.5
done
S3=http://127.0.0.1:$S3_PORT/$S3_BUCKET
# The bench's key (owner dev): curl "${AUTH[@]}" ..., and MEDIA_API_KEY for tus-js-client and the load tool.
export MEDIA_API_KEY
MEDIA_API_KEY=$(cat "$MEDIA_ENV_DIR/dev-api-key")
AUTH=(-H "Authorization: Bearer $MEDIA_API_KEY")

# Helpers for the benchmarks: time, peak memory (VmHWM, resettable), CPU seconds and a settle pause.
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { print e - s }'; }
reset_peaks() { for pid in "$FRONTEND_PID" "$SILO_PID"; do echo 5 >"/proc/$pid/clear_refs"; done; }
peak() { echo $(( $(awk '/^VmHWM:/ {print $2}' "/proc/$1/status") / 1024 )); }
S3RVER_PID=$(cat "$MEDIA_ENV_DIR/s3/s3rver.pid")
TICKS=$(getconf CLK_TCK)
# CPU seconds (user + system) used so far by frontend, silo and s3rver, as "f s3".
cpu_now() { for pid in "$FRONTEND_PID" "$SILO_PID" "$S3RVER_PID"; do awk '{ printf "%s ", $14 + $15 }' "/proc/$pid/stat"; done; }
# Waits (up to 10 s) until frontend and silo have been quiet for a second (background JIT tiering after a burst
# would otherwise take CPU from whichever run comes next).
settle() {
  local i a b
  for i in $(seq 1 10); do
    a=$(cpu_now); sleep 1; b=$(cpu_now)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !((y[1]-x[1]) + (y[2]-x[2]) < 5) }' && return
  done
  # Not fatal (the scripts run with set -e): the run goes on, and the warning says why its figures may be noisy.
  echo "settle: frontend and silo still busy after 10 s; measuring anyway" >&2
}
cpu_since() { awk -v a="$1" -v b="$(cpu_now)" -v t="$TICKS" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f/%.1f/%.1f", (y[1]-x[1])/t, (y[2]-x[2])/t, (y[3]-x[3])/t }'; }

# Another silo of the bench cluster on ports of its own (silo, gateway, HTTP), its log in .data/bench; more arguments go
# to its command line. LAST_PID is its pid. ready PORT waits until the silo with that HTTP port is ready.
launch_silo() {
  local port=$1 gateway=$2 http=$3; shift 3
  (cd Silo/bin/Release/net10.0 && exec dotnet Silo.dll --Orleans:ClusterId=bench --Silo:SiloPort="$port" --Silo:GatewayPort="$gateway" \
    --Silo:HttpPort="$http" --Logging:LogLevel:Default=Warning "$@") >"$MEDIA_ENV_DIR/silo-$port.log" 2>&1 &
  LAST_PID=$!
  pids+=("$LAST_PID")
}
ready() {
  local _
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/health/ready" 2>/dev/null && return
    sleep 0.25
  done
  echo "the silo with HTTP port $1 did not start" >&2
  return 1
}

# Uploads and waiting on items (bench/items.sh).
source "$ROOT/bench/items.sh"
