#!/usr/bin/env bash
# Resumable-upload benchmark, one run, alternating rounds:
#   (a) ceiling: the file straight to the same s3rver as a multipart upload, 8 MiB parts, 4 in flight (curl);
#   (a') the same with the AWS SDK's signed UploadPart requests (what the service sends with S3:PresignedParts=false,
#        1 MiB writes), a second, often faster reference;
#   (a1) the same as (a) one part at a time, a curl process per part: a client sending chunks one after another,
#        each acknowledged once durable in S3, without the service (tus-js-client keeps its connection and beats it);
#   (b) tus-js-client 4.3.1 uploading the file to the service, whole file in one PATCH and in 8 MiB chunks;
#   (c) 64 uploads of 1 MiB through tus-js-client, 16 at a time.
# (a'), (b) and (c) are timed by their client from the upload's start, with the file already in memory, so that the
# start-up of node or dotnet (about 0.1 s) is not counted; (a) is timed around its curl processes.
# Prints MiB/s, the ratio of (b) to (a), the peak memory (VmHWM, reset before each run) of frontend and silo, and the
# CPU seconds frontend, silo and s3rver spent on each run, and the grain state writes one 8 MiB PATCH costs (rows written
# to OrleansStorage, from PostgreSQL's statistics, over the chunked upload of round 1). A few uploads warm the service up
# first.
# Starts its own PostgreSQL, s3rver, silo and frontend in .data/bench; stops them after.
#   SIZE_MIB (default 256), ROUNDS (default 2), BENCH_API_PORT (default 5090)
set -euo pipefail
SIZE_MIB=${SIZE_MIB:-256}
ROUNDS=${ROUNDS:-2}
source "$(dirname "$0")/stack.sh"

FILE=$MEDIA_ENV_DIR/tus-payload.bin
SMALL=$MEDIA_ENV_DIR/tus-small.bin
[ -f "$FILE" ] && [ "$(stat -c %s "$FILE")" -eq $((SIZE_MIB * 1024 * 1024)) ] || head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"
[ -f "$SMALL" ] || head -c $((1024 * 1024)) /dev/urandom >"$SMALL"
BYTES=$(stat -c %s "$FILE")
SHA=$(sha256sum "$FILE" | cut -d' ' -f1)
PART=$((8 * 1024 * 1024))
ENDPOINT=http://127.0.0.1:$API_PORT/files/
dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)

mibps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1048576 / t }'; }

# Rows written to the grain state table so far (PostgreSQL's statistics lag up to 10 s behind an idle connection).
state_writes() {
  scripts/env.sh psql -tAc "SELECT coalesce(sum(n_tup_upd + n_tup_ins), 0) FROM pg_stat_user_tables WHERE relname = 'orleansstorage'"
}

# (a): create, parts 4 at a time, complete. Parts are cut with dd and sent with curl (s3rver accepts anonymous requests).
direct_mpu() {
  local key=$1 inflight=${2:-4} upload n parts
  upload=$(curl -sS -X POST "$S3/$key?uploads" | grep -o '<UploadId>[^<]*' | sed 's/<UploadId>//')
  n=$(( (BYTES + PART - 1) / PART ))
  seq 1 "$n" | xargs -P "$inflight" -I{} sh -c '
    dd if="$0" iflag=skip_bytes,count_bytes skip=$(( ({} - 1) * $1 )) count="$1" bs=1M status=none \
      | curl -sS -D - -o /dev/null -X PUT --data-binary @- -H "Content-Type: application/octet-stream" "$2?partNumber={}&uploadId=$3" \
      | tr -d "\r" | awk -v n={} "tolower(\$1) == \"etag:\" {print n, \$2}"' "$FILE" "$PART" "$S3/$key" "$upload" >"$MEDIA_ENV_DIR/etags"
  parts=$(sort -n "$MEDIA_ENV_DIR/etags" | awk '{printf "<Part><PartNumber>%s</PartNumber><ETag>%s</ETag></Part>", $1, $2}')
  curl -sS -o /dev/null -X POST --data "<CompleteMultipartUpload>$parts</CompleteMultipartUpload>" "$S3/$key?uploadId=$upload"
}

# Prints the item id and the seconds the client took (timed by the client, as (a') and (c) are).
tus_upload() {
  node tests/interop/upload.mjs "$ENDPOINT" "$FILE" "$1" | sed -E 's/.*"url":"[^"]*\/files\/([0-9]+)","seconds":([0-9.e-]+).*/\1 \2/'
}

# Compares what was stored with the file, then deletes it: s3rver keeps every object on disk, and gigabytes of them
# waiting for write-back slowed later rounds down (s3rver needed up to 50 % more CPU time for the same run).
check() {
  local auth=() item=$1 got
  # Our API needs the key, and the item goes with DELETE /media/{id}; s3rver must not see the key (it would try to
  # read it as an S3 signature).
  case $1 in "http://127.0.0.1:$API_PORT/"*) auth=("${AUTH[@]}") item=${1%/content} ;; esac
  got=$(curl -sS "${auth[@]}" "$1" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SHA" ] || { echo "content at $1 differs from the file" >&2; exit 1; }
  curl -sS -o /dev/null -X DELETE "${auth[@]}" "$item"
}

# Warm-up, not measured: a fresh process JIT-compiles and tiers up its hot paths during its first uploads, which
# is a start-up cost, not throughput. .NET recompiles a method once it has run 30 times: the per-part paths (part
# upload, part record, state write) reach that only with uploads of many parts, so the warm-up sends the measured
# file once whole and once in chunks (without it, round 1 showed 1.1 CPU-s of silo work that later rounds did not).
WARM=$MEDIA_ENV_DIR/tus-warm.bin
[ -f "$WARM" ] || head -c $((24 * 1024 * 1024)) /dev/urandom >"$WARM"
for options in '{}' '{"chunkSize":8388608}'; do
  node tests/interop/upload.mjs "$ENDPOINT" "$WARM" "$options" >/dev/null
  node tests/interop/upload.mjs "$ENDPOINT" "$FILE" "$options" >/dev/null
done
node bench/tus-many.mjs "$ENDPOINT" "$SMALL" 16 8 >/dev/null

printf '%-6s %-22s %9s %9s %14s %11s %20s\n' round run seconds MiB/s frontend_MiB silo_MiB cpu_s:front/silo/s3
declare -A total=()
for round in $(seq 1 "$ROUNDS"); do
  settle; c0=$(cpu_now); start=$(now); direct_mpu "baseline/$round"; t=$(since "$start"); c=$(cpu_since "$c0"); check "$S3/baseline/$round"
  printf '%-6s %-22s %9.2f %9s %14s %11s %20s\n' "$round" "a: direct multipart x4" "$t" "$(mibps "$BYTES" "$t")" - - "$c"
  total[a]=$(awk -v a="${total[a]:-0}" -v b="$t" 'BEGIN { print a + b }')

  settle; c0=$(cpu_now); start=$(now); direct_mpu "sequential/$round" 1; t=$(since "$start"); c=$(cpu_since "$c0"); check "$S3/sequential/$round"
  printf '%-6s %-22s %9.2f %9s %14s %11s %20s\n' "$round" "a1: direct multipart x1" "$t" "$(mibps "$BYTES" "$t")" - - "$c"
  total[a1]=$(awk -v a="${total[a1]:-0}" -v b="$t" 'BEGIN { print a + b }')

  settle; c0=$(cpu_now); t=$("${TOOL[@]}" s3mpu "http://127.0.0.1:$S3_PORT" "$S3_BUCKET" "sdk/$round" "$FILE" "$PART" 4); c=$(cpu_since "$c0"); check "$S3/sdk/$round"
  printf '%-6s %-22s %9.2f %9s %14s %11s %20s\n' "$round" "a': AWS SDK direct x4" "$t" "$(mibps "$BYTES" "$t")" - - "$c"
  total[sdk]=$(awk -v a="${total[sdk]:-0}" -v b="$t" 'BEGIN { print a + b }')

  for run in whole:'{}' chunks8:'{"chunkSize":8388608}'; do
    name=${run%%:*}; options=${run#*:}
    if [ "$round" = 1 ] && [ "$name" = chunks8 ]; then sleep 11; w0=$(state_writes); fi
    settle; reset_peaks; c0=$(cpu_now); read -r id t < <(tus_upload "$options"); c=$(cpu_since "$c0")
    if [ "$round" = 1 ] && [ "$name" = chunks8 ]; then sleep 11; writes=$(( $(state_writes) - w0 )); fi
    printf '%-6s %-22s %9.2f %9s %14s %11s %20s\n' "$round" "b: tus $name" "$t" "$(mibps "$BYTES" "$t")" "$(peak "$FRONTEND_PID")" "$(peak "$SILO_PID")" "$c"
    check "http://127.0.0.1:$API_PORT/media/$id/content"
    total[$name]=$(awk -v a="${total[$name]:-0}" -v b="$t" 'BEGIN { print a + b }')
  done

  settle; reset_peaks; c0=$(cpu_now); t=$(node bench/tus-many.mjs "$ENDPOINT" "$SMALL" 64 16); c=$(cpu_since "$c0")
  printf '%-6s %-22s %9.2f %9s %14s %11s %20s\n' "$round" "c: 64 x 1 MiB, 16 at once" "$t" "$(mibps $((64 * 1024 * 1024)) "$t")" "$(peak "$FRONTEND_PID")" "$(peak "$SILO_PID")" "$c"
  total[c]=$(awk -v a="${total[c]:-0}" -v b="$t" 'BEGIN { print a + b }')
done

echo
mean() { mibps "$2" "$(awk -v t="$1" -v r="$ROUNDS" 'BEGIN { print t / r }')"; }
echo "file $SIZE_MIB MiB, $ROUNDS rounds, every upload read back byte-identical (SHA-256)"
echo "(a) direct multipart, 8 MiB parts, 4 in flight: $(mean "${total[a]}" "$BYTES") MiB/s"
echo "(a') AWS SDK direct, same parts:             $(mean "${total[sdk]}" "$BYTES") MiB/s"
echo "(a1) direct multipart, one part at a time:    $(mean "${total[a1]}" "$BYTES") MiB/s"
echo "(b) tus-js-client, whole file:                $(mean "${total[whole]}" "$BYTES") MiB/s, ratio to (a) $(awk -v a="${total[a]}" -v b="${total[whole]}" 'BEGIN { printf "%.2f", a / b }'), to (a') $(awk -v a="${total[sdk]}" -v b="${total[whole]}" 'BEGIN { printf "%.2f", a / b }')"
echo "(b) tus-js-client, 8 MiB chunks:              $(mean "${total[chunks8]}" "$BYTES") MiB/s, ratio to (a) $(awk -v a="${total[a]}" -v b="${total[chunks8]}" 'BEGIN { printf "%.2f", a / b }'), to (a') $(awk -v a="${total[sdk]}" -v b="${total[chunks8]}" 'BEGIN { printf "%.2f", a / b }'), to (a1) $(awk -v a="${total[a1]}" -v b="${total[chunks8]}" 'BEGIN { printf "%.2f", a / b }')"
echo "(c) 64 x 1 MiB, 16 at a time:                 $(mean "${total[c]}" $((64 * 1024 * 1024))) MiB/s"
patches=$(( (BYTES + PART - 1) / PART ))
echo "grain state writes of the chunked upload (round 1): $writes = creation + $patches PATCHes of 8 MiB + stored + processing's report: $(awk -v w="$writes" -v p="$patches" 'BEGIN { printf "%.2f", (w - 3) / p }') per PATCH"
