#!/usr/bin/env bash
# Rate limiter benchmark: the latency the cluster-wide limiter adds to a request. One run, alternating rounds, of
# warm GET /media/{id}/metadata through two frontends of the same cluster: one with the limits on (set far above the
# load, so that every request is counted and none refused) and one with RateLimits:Enabled=false.
# Starts its own stack in .data/bench (bench/stack.sh) plus the second frontend, and stops them after.
#   CONCURRENCY (default 16), RUN_SECONDS (default 8), ROUNDS (default 2)
set -euo pipefail
CONCURRENCY=${CONCURRENCY:-16}
RUN_SECONDS=${RUN_SECONDS:-8}
ROUNDS=${ROUNDS:-2}
source "$(dirname "$0")/stack.sh"

OFF_PORT=$((API_PORT + 1))
(cd ApiFrontend/bin/Release/net10.0 && RateLimits__Enabled=false exec dotnet ApiFrontend.dll --Orleans:ClusterId=bench \
  --urls "http://127.0.0.1:$OFF_PORT" --Logging:LogLevel:Default=Warning \
  --Auth:BootstrapAdminKeyFile="$MEDIA_ENV_DIR/admin-api-key" --Auth:BootstrapUserKeyFile="$MEDIA_ENV_DIR/dev-api-key") &
pids+=($!)
for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$OFF_PORT/health/ready" 2>/dev/null && break; sleep 0.5; done

dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
WORK=$MEDIA_ENV_DIR/ratelimit
rm -rf "$WORK" && mkdir -p "$WORK"
for i in $(seq 1 50); do
  id=$(curl -sS "${AUTH[@]}" -X POST --data-binary "note $i" "http://127.0.0.1:$API_PORT/media/upload?filename=n$i.txt" | grep -o '"id":[0-9]*' | cut -d: -f2)
  echo "http://127.0.0.1:$API_PORT/media/$id/metadata" >>"$WORK/on.urls"
  echo "http://127.0.0.1:$OFF_PORT/media/$id/metadata" >>"$WORK/off.urls"
done

echo "warm GET /media/{id}/metadata, $CONCURRENCY clients, ${RUN_SECONDS} s per run"
printf '%-6s %-26s %10s %9s %9s %9s %7s\n' round run req/s p50_ms p99_ms requests errors
declare -A p50s=() p99s=() rps=()
for round in $(seq 1 "$ROUNDS"); do
  for run in on off; do
    settle
    read -r r p50 p99 n errors < <("${TOOL[@]}" load "$WORK/$run.urls" "$CONCURRENCY" "$RUN_SECONDS")
    printf '%-6s %-26s %10s %9s %9s %9s %7s\n' "$round" "limits $run" "$r" "$p50" "$p99" "$n" "$errors"
    p50s[$run]=$(awk -v a="${p50s[$run]:-0}" -v b="$p50" 'BEGIN { print a + b }')
    p99s[$run]=$(awk -v a="${p99s[$run]:-0}" -v b="$p99" 'BEGIN { print a + b }')
    rps[$run]=$(awk -v a="${rps[$run]:-0}" -v b="$r" 'BEGIN { print a + b }')
  done
done
awk -v on50="${p50s[on]}" -v off50="${p50s[off]}" -v on99="${p99s[on]}" -v off99="${p99s[off]}" -v onr="${rps[on]}" -v offr="${rps[off]}" -v n="$ROUNDS" 'BEGIN {
  printf "limits on: p50 %.2f ms, p99 %.2f ms, %.0f req/s; off: p50 %.2f ms, p99 %.2f ms, %.0f req/s\n", on50/n, on99/n, onr/n, off50/n, off99/n, offr/n
  printf "added by the limiter: p50 %+.2f ms, p99 %+.2f ms; throughput ratio on/off %.2f\n", (on50-off50)/n, (on99-off99)/n, onr/offr }'
