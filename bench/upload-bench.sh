#!/usr/bin/env bash
# Upload benchmark: one file (default 1 GiB) through POST /media/upload, side by side with two direct uploads
# of the same file to the same S3 server in the same run, alternating, ROUNDS times each:
#   direct-put: one PutObject of the whole file (the server's ceiling for one stream);
#   direct-mpu: a multipart upload with the frontend's part size, parts sent one after another, then completed
#               (the same S3 work the frontend does, without the frontend).
# Reports throughput of both, their ratio, and the frontend's peak memory (VmHWM, reset before each upload).
# Runs its own PostgreSQL, s3rver, silo and frontend in .data/bench on their own ports; stops them after.
#   SIZE_MIB (default 1024), ROUNDS (default 2), BENCH_API_PORT (default 5090)
set -euo pipefail
SIZE_MIB=${SIZE_MIB:-1024}
ROUNDS=${ROUNDS:-2}
source "$(dirname "$0")/stack.sh"

FILE=$MEDIA_ENV_DIR/payload.bin
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" -ne $((SIZE_MIB * 1024 * 1024)) ]; then
  head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"
fi
SHA=$(sha256sum "$FILE" | cut -d' ' -f1)
IDLE_RSS=$(( $(awk '/^VmRSS:/ {print $2}' "/proc/$FRONTEND_PID/status") / 1024 ))
BYTES=$(stat -c %s "$FILE")

kib() { awk '/^'"$2"':/ {print $2}' "/proc/$1/status"; }
PART=$((8 * 1024 * 1024))

# Multipart upload straight to s3rver (anonymous requests are accepted there): create, parts, complete.
direct_mpu() {
  local key=$1 upload parts="" n=1 offset=0 etag
  upload=$(curl -sS -X POST "$S3/$key?uploads" | grep -o '<UploadId>[^<]*' | sed 's/<UploadId>//')
  while [ "$offset" -lt "$BYTES" ]; do
    etag=$(dd if="$FILE" iflag=skip_bytes,count_bytes skip="$offset" count="$PART" bs=1M status=none \
      | curl -sS -D - -o /dev/null -X PUT --data-binary @- -H 'Content-Type: application/octet-stream' \
        "$S3/$key?partNumber=$n&uploadId=$upload" | tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}')
    parts+="<Part><PartNumber>$n</PartNumber><ETag>$etag</ETag></Part>"
    offset=$((offset + PART)); n=$((n + 1))
  done
  curl -sS -o /dev/null -X POST --data "<CompleteMultipartUpload>$parts</CompleteMultipartUpload>" "$S3/$key?uploadId=$upload"
}

mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN { printf "%.1f", b / 1048576 / t }'; }

printf '%-8s %-10s %10s %10s %14s\n' round path seconds MiB/s peak_rss_MiB
direct_total=0; mpu_total=0; frontend_total=0; peak_max=0
for round in $(seq 1 "$ROUNDS"); do
  t=$(curl -sS -o /dev/null -w '%{time_total}' -T "$FILE" "http://127.0.0.1:$S3_PORT/$S3_BUCKET/baseline/$round")
  printf '%-8s %-10s %10.2f %10s %14s\n' "$round" direct-put "$t" "$(mbps "$t")" -
  direct_total=$(awk -v a="$direct_total" -v b="$t" 'BEGIN { print a + b }')

  start=$(date +%s.%N); direct_mpu "baseline/mpu-$round"; t=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
  printf '%-8s %-10s %10.2f %10s %14s\n' "$round" direct-mpu "$t" "$(mbps "$t")" -
  mpu_total=$(awk -v a="$mpu_total" -v b="$t" 'BEGIN { print a + b }')
  got=$(curl -sS "$S3/baseline/mpu-$round" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SHA" ] || { echo "direct multipart upload differs from the file" >&2; exit 1; }

  # Reset the frontend's peak resident set size, so VmHWM is the peak during this upload.
  echo 5 >"/proc/$FRONTEND_PID/clear_refs"
  out=$(curl -sS "${AUTH[@]}" -w '\n%{http_code} %{time_total}' -X POST -T "$FILE" -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$API_PORT/media/upload?filename=bench.bin")
  read -r code t <<<"$(tail -n1 <<<"$out")"
  [ "$code" = 201 ] || { echo "upload failed: $out" >&2; exit 1; }
  id=$(head -n1 <<<"$out" | sed -E 's/.*"id":([0-9]+).*/\1/')
  peak=$(( $(kib "$FRONTEND_PID" VmHWM) / 1024 ))
  printf '%-8s %-10s %10.2f %10s %14s\n' "$round" frontend "$t" "$(mbps "$t")" "$peak"
  frontend_total=$(awk -v a="$frontend_total" -v b="$t" 'BEGIN { print a + b }')
  (( peak > peak_max )) && peak_max=$peak

  got=$(curl -sS "${AUTH[@]}" "http://127.0.0.1:$API_PORT/media/$id/content" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SHA" ] || { echo "content of $id differs from the upload" >&2; exit 1; }
done

echo
echo "file: $SIZE_MIB MiB, $ROUNDS rounds each, alternating; every upload read back byte-identical (SHA-256)"
mean() { mbps "$(awk -v t="$1" -v r="$ROUNDS" 'BEGIN { print t / r }')"; }
echo "direct PutObject:          $(mean "$direct_total") MiB/s (mean)"
echo "direct multipart (8 MiB):  $(mean "$mpu_total") MiB/s (mean)"
echo "POST /media/upload:        $(mean "$frontend_total") MiB/s (mean)"
echo "ratio frontend / direct PutObject: $(awk -v d="$direct_total" -v f="$frontend_total" 'BEGIN { printf "%.2f", d / f }')"
echo "ratio frontend / direct multipart: $(awk -v d="$mpu_total" -v f="$frontend_total" 'BEGIN { printf "%.2f", d / f }')"
echo "frontend RSS before the first upload: $IDLE_RSS MiB; peak RSS during an upload: $peak_max MiB (VmHWM; 8 MiB parts, S3:PartsInFlight parts at once)"
