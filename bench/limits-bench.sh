#!/usr/bin/env bash
# The default rate limits against real batches: what a person's photo-library upload sends, and whether the
# defaults refuse any of it. Two stacks in one run (bench/stack.sh, .data/bench):
#   1. limits raised far above the load: every batch runs untouched and each request's class and time is traced;
#      bench/limits.mjs then gives, per class, the smallest burst that admits the whole trace at a refill rate;
#   2. the defaults of ./run.sh (BENCH_LIMITS=default): the same batches again, counting 429s and failed uploads.
# Script batches use tus-js-client (tests/interop, pinned) with its default options, which do not retry a 429.
#   BATCHES (default "64:1024:16 300:1024:16 500:256:16 300:2048:6 4:65536:4:1024"; count:KiB:concurrency[:chunk KiB]), PROPOSED (the rules
#   bench/limits.mjs checks, default: the current defaults of RateLimitOptions), BROWSER_BATCH (default 300:1024:
#   count:KiB dropped at once on /app/ in Chromium, bench/browser-batch.mjs), MODES (default "raised default").
# Older limits, for comparison: MODES=default RateLimits__Create__PerSecond=10 RateLimits__Create__Burst=20 ... bench/limits-bench.sh
set -euo pipefail
BROWSER_BATCH=${BROWSER_BATCH:-300:1024}
BATCHES=${BATCHES:-"64:1024:16 300:1024:16 500:256:16 300:2048:6 4:65536:4:1024"}
PROPOSED=${PROPOSED:-"create=50:500 append=200:1000 read=500:1000"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/web/install.sh"
OUT=$ROOT/.data/limits-bench
rm -rf "$OUT" && mkdir -p "$OUT"

run_batches() { # label file
  for batch in $BATCHES; do
    IFS=: read -r count kib conc chunk <<<"$batch"
    node "$ROOT/bench/batch-trace.mjs" "http://127.0.0.1:$API_PORT/files/" "$count" "$kib" "$conc" ${chunk:+"$chunk"} \
      | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const r=JSON.parse(s);r.label='$1';console.log(JSON.stringify(r))})" >>"$2"
    settle
  done
  IFS=: read -r count kib <<<"$BROWSER_BATCH"
  node "$ROOT/bench/browser-batch.mjs" "http://127.0.0.1:$API_PORT" "$count" "$kib" | sed "s/\"label\":\"browser\"/\"label\":\"$1 browser\"/" >>"$2"
  settle
}

for mode in ${MODES:-raised default}; do
  (
    export BENCH_LIMITS=$mode
    source "$ROOT/bench/stack.sh"
    echo "== limits $mode" >&2
    run_batches "$mode" "$OUT/$mode.jsonl"
  )
done

if [ -f "$OUT/raised.jsonl" ]; then
  echo "== what the batches need (limits raised, traced)"
  node "$ROOT/bench/limits.mjs" "$OUT/raised.jsonl" $PROPOSED
fi
echo "== the defaults of ./run.sh"
node -e '
const fs = require("fs");
for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
  const r = JSON.parse(line);
  console.log(`${r.label} ${r.count} x ${r.sizeKib} KiB at ${r.concurrency}: ${r.ok} ok, ${r.failed} failed in ${r.seconds.toFixed(1)} s; 429s: ${r.statuses["429"] ?? 0}${r.firstError ? "; first error: " + r.firstError : ""}`);
}' "$OUT/default.jsonl"
