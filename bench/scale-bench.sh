#!/usr/bin/env bash
# Scaling under load: uploads run continuously (tus, retried as tus-js-client does) while the cluster goes from one
# silo to three and back to one, the leaving silos drained by SIGTERM. Prints, per second, completed and failed
# uploads, client retries and media items per silo; then whether every upload is byte-identical and how long each
# new silo took to carry its share of the items.
#   CONCURRENCY (default 6 uploaders), PHASE_SECONDS (default 20: 1 silo for one phase, 3 for two, 2 and 1 for one each)
set -euo pipefail
source "$(dirname "$0")/stack.sh"
dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
PHASE=${PHASE_SECONDS:-20}
OUT=$MEDIA_ENV_DIR/scale-load.txt
STOP=$MEDIA_ENV_DIR/scale-stop
rm -f "$STOP"

export BENCH_T0
BENCH_T0=$(now)
event() { printf '%5.1f s  %s\n' "$(since "$BENCH_T0")" "$*" | tee -a "$MEDIA_ENV_DIR/scale-events.txt" >&2; }
: >"$MEDIA_ENV_DIR/scale-events.txt"

drain() {
  local name=$1 pid=$2 code=0 started
  started=$(now)
  event "SIGTERM to silo $name"
  kill -TERM "$pid"
  wait "$pid" || code=$?
  event "silo $name drained and exited with $code after $(since "$started" | xargs printf '%.1f') s"
}

"${TOOL[@]}" scale "http://127.0.0.1:$API_PORT" "$MEDIA_ENV_DIR/admin-api-key" "${CONCURRENCY:-6}" 3600 "$STOP" >"$OUT" &
LOAD_PID=$!
event "load started on one silo (A :11191)"
sleep "$PHASE"

event "starting silos B :11192 and C :11193"
launch_silo 11192 30092 11194
B_PID=$LAST_PID
launch_silo 11193 30093 11195
ready 11194
ready 11195
event "silos B and C are active members"
sleep $((2 * PHASE))

drain A "$SILO_PID"
sleep "$PHASE"
drain B "$B_PID"
sleep "$PHASE"

touch "$STOP"
wait "$LOAD_PID"
event "load stopped"

echo
echo "== events"
cat "$MEDIA_ENV_DIR/scale-events.txt"
echo "== per second (time since the load started)"
cat "$OUT"
