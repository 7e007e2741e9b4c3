#!/usr/bin/env bash
# ./media upload of a folder next to tus-js-client uploading the same folder at the same concurrency, in one run
# against one ./run.sh-style stack (PostgreSQL, s3rver, one silo, one frontend, Release) of its own (.data/cli-bench,
# own ports), written to bench/cli-bench.md.
#   SMALL (64) files of 1 MiB and LARGE (4) of 16 MiB; PARALLEL (16) at a time; ROUNDS (3), the two alternating.
#   CHUNK (8M): both clients send PATCHes of this size (tus-js-client's chunkSize; ./media --chunk-size).
#   STACK_ONLY=1: start the stack, print its address and key file, and wait (for trying ./media by hand).
# The rate limits are the service's defaults unless BENCH_LIMITS=high (every class at 10^6/s): the figures then
# show the clients, not the limits. The default is high, because tus-js-client does not retry 429.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMALL=${SMALL:-64} LARGE=${LARGE:-4} PARALLEL=${PARALLEL:-16} ROUNDS=${ROUNDS:-3} CHUNK=${CHUNK:-8M}
API_PORT=${CLI_BENCH_API_PORT:-5094}
export MEDIA_ENV_DIR=$ROOT/.data/cli-bench PG_PORT=${CLI_BENCH_PG_PORT:-55444} S3_PORT=${CLI_BENCH_S3_PORT:-54584} PG_DB=media_cli_bench S3_BUCKET=media-cli-bench
WORK=$(mktemp -d /tmp/cli-bench-XXXXXX)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/env.sh stop
  rm -rf "$WORK"
}
trap cleanup EXIT

scripts/env.sh fresh
eval "$(scripts/env.sh env)"
[ -d tests/interop/node_modules/tus-js-client ] || (cd tests/interop && npm ci --no-audit --no-fund --silent)
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  dotnet build Orleans.sln -c Release --nologo -v quiet -clp:ErrorsOnly
fi

(cd Silo/bin/Release/net10.0 && exec dotnet Silo.dll --Orleans:ClusterId=cli-bench --Silo:SiloPort=11194 --Silo:GatewayPort=30094 \
  --Silo:HttpPort=11195 --Logging:LogLevel:Default=Warning) &
pids+=($!)
if [ "${BENCH_LIMITS:-high}" = high ]; then
  for class in Create Append Read Search Admin UploadKib; do
    export "RateLimits__${class}__PerSecond=1000000" "RateLimits__${class}__Burst=1000000"
  done
fi
(cd ApiFrontend/bin/Release/net10.0 && exec dotnet ApiFrontend.dll --Orleans:ClusterId=cli-bench --urls "http://127.0.0.1:$API_PORT" \
  --Logging:LogLevel:Default=Warning --Auth:BootstrapAdminKeyFile="$MEDIA_ENV_DIR/admin-api-key" --Auth:BootstrapUserKeyFile="$MEDIA_ENV_DIR/dev-api-key") &
FRONTEND_PID=$!
pids+=($FRONTEND_PID)
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/health/ready" 2>/dev/null && break
  sleep 0.5
done
export MEDIA_URL=http://127.0.0.1:$API_PORT MEDIA_KEY
MEDIA_KEY=$(cat "$MEDIA_ENV_DIR/dev-api-key")
export MEDIA_STATE_FILE=$WORK/uploads.json

if [ "${STACK_ONLY:-0}" = 1 ]; then
  echo "stack ready: MEDIA_URL=$MEDIA_URL MEDIA_KEY=\$(cat $MEDIA_ENV_DIR/dev-api-key); Ctrl-C stops it" >&2
  wait "$FRONTEND_PID"
  exit 0
fi

# The folder: random bytes (incompressible), written once and read by both clients from the page cache.
mkdir -p "$WORK/folder/large"
for i in $(seq -w 1 "$SMALL"); do head -c $((1 << 20)) /dev/urandom >"$WORK/folder/small-$i.bin"; done
for i in $(seq 1 "$LARGE"); do head -c $((16 << 20)) /dev/urandom >"$WORK/folder/large/big-$i.bin"; done
BYTES=$(du -sb "$WORK/folder" | cut -f1)
FILES=$((SMALL + LARGE))
./media --help >/dev/null # builds the client before anything is timed
CHUNK_BYTES=$(numfmt --from=iec "$CHUNK")
# Warm-up, not timed: the first uploads after a start pay for the frontend's and silo's JIT and connections.
mkdir -p "$WORK/warm"
for i in $(seq -w 1 16); do head -c $((1 << 20)) /dev/urandom >"$WORK/warm/w-$i.bin"; done
./media upload "$WORK/warm" --parallel "$PARALLEL" >/dev/null
node bench/cli-bench.mjs "$MEDIA_URL/files/" "$WORK/warm" "$PARALLEL" "$CHUNK_BYTES" >/dev/null

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
cpu() { awk '{ printf "%.1f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }

results=()
for round in $(seq 1 "$ROUNDS"); do
  for client in media tus-js-client; do
    sync
    start=$(now)
    if [ "$client" = media ]; then
      /usr/bin/time -f '%U %S' -o "$WORK/cpu" ./media upload "$WORK/folder" --parallel "$PARALLEL" --chunk-size "$CHUNK" --json >"$WORK/out.jsonl"
      ok=$(grep -c '"sha256"' "$WORK/out.jsonl" || true)
    else
      /usr/bin/time -f '%U %S' -o "$WORK/cpu" node bench/cli-bench.mjs "$MEDIA_URL/files/" "$WORK/folder" "$PARALLEL" "$CHUNK_BYTES" >"$WORK/out.jsonl"
      ok=$(grep -c '"url"' "$WORK/out.jsonl" || true)
    fi
    seconds=$(since "$start")
    client_cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$WORK/cpu")
    echo "round $round: $client $seconds s, client CPU $client_cpu s ($ok/$FILES files)" >&2
    results+=("$client $seconds $ok $client_cpu")
  done
done

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
m_media=$(printf '%s\n' "${results[@]}" | awk '$1 == "media" { print $2 }' | median)
m_tus=$(printf '%s\n' "${results[@]}" | awk '$1 == "tus-js-client" { print $2 }' | median)
{
  echo "# ./media upload vs tus-js-client: one folder, same concurrency"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores. One stack (PostgreSQL, s3rver, one silo, one frontend; Release) on 127.0.0.1;"
  echo "rate limits: ${BENCH_LIMITS:-high} (high: every class at 10^6/s, so the figures show the clients, not the limits; default: the service's defaults, as ./run.sh has them)."
  echo "Folder: $SMALL files of 1 MiB and $LARGE of 16 MiB ($BYTES bytes), $PARALLEL uploads at a time, PATCHes of $CHUNK."
  echo "media: \`./media upload FOLDER --parallel $PARALLEL --chunk-size $CHUNK --json\` (process start included; sha1 per chunk,"
  echo "sha256 of every file, a GET of each item to compare the service's sha256). tus-js-client 4.3.1 (tests/interop):"
  echo "bench/cli-bench.mjs, the same files, $PARALLEL at a time, chunkSize $CHUNK_BYTES, node start included. Both warmed up first"
  echo "(16 files of 1 MiB each, not timed); the rounds alternate the two clients."
  echo
  echo "| round | client | wall s | files ok | MB/s | client CPU s (user+sys) |"
  echo "|---|---|---|---|---|---|"
  i=0
  for r in "${results[@]}"; do
    read -r client seconds ok client_cpu <<<"$r"
    echo "| $((i / 2 + 1)) | $client | $seconds | $ok/$FILES | $(awk -v b="$BYTES" -v s="$seconds" 'BEGIN { printf "%.1f", b / s / 1e6 }') | $client_cpu |"
    i=$((i + 1))
  done
  echo
  echo "Median wall time: media $m_media s, tus-js-client $m_tus s; ratio media / tus-js-client = $(awk -v a="$m_media" -v b="$m_tus" 'BEGIN { printf "%.2f", a / b }')."
} >bench/cli-bench.md
cat bench/cli-bench.md
