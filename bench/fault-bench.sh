#!/usr/bin/env bash
# The fault suite as a benchmark: N uploads of every kind (tus whole, tus in chunks, tus concatenation, the IETF draft,
# POST /media/upload) through nginx, with a fault of each kind (frontend or silo SIGKILL, S3 refusing, S3 hung, S3 failing
# one request, PostgreSQL stopped) injected at each point of an upload's last request (before, at and after the last
# byte, during completion), on real processes of its own. Prints faults injected, uploads told complete, uploads lost
# (target 0), uploads stuck (target 0), and the p99 extra time the faults cost, measured against the uploads of the same
# run that had no fault.
#   UPLOADS (default 120: every fault at every point five times), SEED (default 20261201), OUT (report file)
# ./test.sh runs the same suite with 30 uploads.
set -euo pipefail
cd "$(dirname "$0")/.."
UPLOADS=${UPLOADS:-120}
SEED=${SEED:-20261201}
OUT=${OUT:-/tmp/fault-bench-$(date +%Y%m%d-%H%M%S).md}
export FAULT_UPLOADS=$UPLOADS FAULT_SEED=$SEED FAULT_REPORT=$OUT
start=$(date +%s)
status=0
./test.sh --filter "FullyQualifiedName~CrashConsistencyTests" >"$OUT.log" 2>&1 || status=$?
echo "# Fault bench: $UPLOADS uploads, seed $SEED, $(git rev-parse --short HEAD), $(( $(date +%s) - start )) s"
echo
if [ -s "$OUT" ]; then sed -n '1,/^Upload time p99/p' "$OUT"; grep -E '^(LOST|STUCK|ORPHAN)' "$OUT" || true; else tail -40 "$OUT.log"; fi
echo
echo "report: $OUT (the run's log: $OUT.log); exit $status"
exit "$status"
