#!/usr/bin/env bash
# Webhook delivery: events per second from the outbox to a local receiver and the lag from change to delivery
# (p50/p99/max), with 1 silo and then with 3; and the cost of a subscription on the changes themselves, PATCH latency
# with a subscription against an owner without one, in the same run. Then the same with the silos' per-subscription
# concurrency raised (Webhooks:MaxConcurrency, default 4, to WEBHOOK_MAX_CONCURRENCY, default 16): three new silos
# with it join, the first three drain and leave, the load runs on the three and then on one of them.
# bench/MediaBench/WebhookLoad.cs does the work (receiver, uploads, patches, checks); every event expected must
# arrive, signed correctly, or the run fails.
#   WEBHOOK_ITEMS (default 300 items per owner), WEBHOOK_CONCURRENCY (default 8 requests in flight),
#   WEBHOOK_PACED_RATE and WEBHOOK_PACED_COUNT (default 20/s, 100 patches), WEBHOOK_MAX_CONCURRENCY (default 16).
# Prints markdown and writes it to bench/webhook-bench.md.
set -euo pipefail
# The receiver is on 127.0.0.1, which the service refuses as a webhook target unless told: the frontend checks the
# URL at subscription, every silo where it delivers. The stack's frontend and silo read this from the environment;
# the silos started here also get it on their command line.
export Webhooks__AllowPrivateTargets=true
RAISED=${WEBHOOK_MAX_CONCURRENCY:-16}
source "$(dirname "$0")/stack.sh"
dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
ROWS=$MEDIA_ENV_DIR/webhook-rows.txt
: >"$ROWS"
STARTED=$(now)

# SIGTERM to the silos given, and a wait until they have drained and left.
drain() {
  local pid
  for pid in "$@"; do kill -TERM "$pid"; done
  for pid in "$@"; do wait "$pid" || true; done
}
# Until the frontend reaches the cluster again (its gateways may have just left): an item read answers 404, not 5xx.
reachable() {
  for _ in $(seq 1 240); do
    [ "$(curl -sS -o /dev/null -w '%{http_code}' "${AUTH[@]}" "http://127.0.0.1:$API_PORT/media/999999999" 2>/dev/null)" = 404 ] && return
    sleep 0.25
  done
  echo "the frontend does not reach the cluster" >&2
  return 1
}

failed=()
# measure SILOS MAX_CONCURRENCY: one run of the load tool; its rows start with both.
measure() {
  echo "== $1 silo(s), Webhooks:MaxConcurrency $2" >&2
  settle
  "${TOOL[@]}" webhooks "http://127.0.0.1:$API_PORT" "$MEDIA_ENV_DIR/admin-api-key" "$1|$2" >>"$ROWS" || failed+=("$1 silo(s) at $2")
}

measure 1 4
launch_silo 11192 30092 11194 --Webhooks:AllowPrivateTargets=true; B=$LAST_PID
launch_silo 11193 30093 11195 --Webhooks:AllowPrivateTargets=true; C=$LAST_PID
ready 11194
ready 11195
measure 3 4

# The raised concurrency: three new silos join, then the first three leave (the subscriptions' grains move with them).
launch_silo 11196 30096 11198 --Webhooks:AllowPrivateTargets=true --Webhooks:MaxConcurrency="$RAISED"; E=$LAST_PID
launch_silo 11197 30097 11199 --Webhooks:AllowPrivateTargets=true --Webhooks:MaxConcurrency="$RAISED"; F=$LAST_PID
launch_silo 11200 30100 11202 --Webhooks:AllowPrivateTargets=true --Webhooks:MaxConcurrency="$RAISED"; G=$LAST_PID
ready 11198
ready 11199
ready 11202
drain "$SILO_PID" "$B" "$C"
SILO_PID=$E # the silo that settle (bench/stack.sh) watches from now on
reachable
settle # new silos: JIT and the grains of the ones that left; measure() settles once more
measure 3 "$RAISED"
drain "$F" "$G"
reachable
measure 1 "$RAISED"
ELAPSED=$(since "$STARTED")

row() { sed -n "s/^$1|//p" "$ROWS" | awk -F'|' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'; }
{
  echo "# Webhook delivery"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)$([ -z "$(git status --porcelain --untracked-files=no -- . ':!bench/webhook-bench.md')" ] || echo ' with uncommitted changes'), $(nproc) cores; bench/webhook-bench.sh with" \
    "WEBHOOK_ITEMS=${WEBHOOK_ITEMS:-300}, WEBHOOK_CONCURRENCY=${WEBHOOK_CONCURRENCY:-8}," \
    "WEBHOOK_PACED_RATE=${WEBHOOK_PACED_RATE:-20}, WEBHOOK_PACED_COUNT=${WEBHOOK_PACED_COUNT:-100}," \
    "Webhooks:MaxConcurrency 4 (the default), then $RAISED. PostgreSQL, s3rver, the silos, one frontend and the" \
    "receiver (Kestrel, in the load tool, answering 204 at once) all on this machine. Measuring took $(printf '%.0f' "$ELAPSED") s." \
    "In order: 1 silo, 3 silos (two joined), then three new silos with MaxConcurrency $RAISED joined and the first three left" \
    "(drained), and 1 silo (two of the new ones drained). Each configuration has a subscription and owners of its own. One" \
    "subscription is delivered by one grain, on one silo, whatever the number of silos; the items (and their hand-offs) are" \
    "spread over all of them."
  echo
  echo "One subscription to \"*\" of a new owner. upload: that owner's items (1 KiB text, POST /media/upload), three events each" \
    "(media.created and media.stored in the upload's write, media.processed when processing ends). patch: one metadata PATCH" \
    "per item, ${WEBHOOK_CONCURRENCY:-8} in flight (media.updated each), all at once: delivery works off a queue. paced: a second" \
    "PATCH of the first items at a fixed rate, below what delivery carries: the lag of an unqueued event. made/s: events over" \
    "the time from the first change to the last; delivered/s: events over the time from the first arrival to the last (the" \
    "steady rate when delivery, not the changes, is the bottleneck). Lag: arrival at the receiver minus the event's timestamp" \
    "(the change's time, same clock). Duplicates: requests with a webhook-id that had arrived already."
  echo
  echo "| silos | MaxConcurrency | phase | events expected | delivered | duplicates | made/s | delivered/s | lag p50 ms | lag p99 ms | lag max ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  row delivery
  echo
  echo "PATCH latency in ms, same load (${WEBHOOK_CONCURRENCY:-8} in flight, one PATCH per item), first on the items of an owner" \
    "without subscription (after 20 warm-up PATCHes), then on the subscribed owner's. The baseline's changes write their events" \
    "to the outbox and hand them off too (the hand-off finds no subscription, so the trimmed outbox need not be written" \
    "back): what the ratio shows is the queueing of deliveries, the trim's write, the waking of the subscription's grain" \
    "and the deliveries themselves running beside the changes on the same" \
    "$(nproc) cores. The PATCH returns after the state write; the hand-off follows in the item's next turn. paced: the" \
    "PATCH latency of the paced phase (subscribed, ${WEBHOOK_PACED_RATE:-20}/s, open loop)."
  echo
  echo "| silos | MaxConcurrency | baseline n | baseline p50 | baseline p99 | subscribed n | subscribed p50 | subscribed p99 | ratio p50 | ratio p99 | baseline PATCH/s | subscribed PATCH/s | paced p50 | paced p99 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  row patch
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "**FAILED: ${failed[*]}** (see the FAILED lines on stderr)."
  fi
} | tee bench/webhook-bench.md

if [ ${#failed[@]} -gt 0 ]; then
  echo "webhook-bench: FAILED for ${failed[*]}" >&2
  exit 1
fi
