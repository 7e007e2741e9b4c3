#!/usr/bin/env bash
# HEIC photos through the whole pipeline, next to the same work done alone, in one run, alternating rounds:
#   service: COUNT 12-megapixel HEIC photos uploaded and processed (sniff, boxes, heif-info and heif-convert in the
#            sandbox, ImageSharp: scale, strip, thumb and display as WebP and JPEG, heif-enc AVIF, stored in S3)
#            until every one is ready;
#   alone:   heif-convert + ImageSharp + heif-enc doing the same decode, resizes and encodes on the same files with
#            the same parallelism (the silo's slots), no service, no S3.
# Ratio = time through the service / time alone (photos per second either way are printed).
# Starts its own stack in .data/bench (bench/stack.sh) and stops it after.  COUNT (default 12), ROUNDS (2), SLOTS (2)
set -euo pipefail
COUNT=${COUNT:-12}
ROUNDS=${ROUNDS:-2}
SLOTS=${SLOTS:-2}
export Processing__Slots=$SLOTS
source "$(dirname "$0")/stack.sh"

dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
WORK=$MEDIA_ENV_DIR/heif
rm -rf "$WORK" && mkdir -p "$WORK"
"${TOOL[@]}" heics "$WORK" "$COUNT"

ids=$(upload "$WORK/photo-000.heic"); wait_processed $ids # warm-up
printf '%-6s %-44s %9s %12s %11s\n' round run seconds per_second silo_MiB
service=0 alone=0
for round in $(seq 1 "$ROUNDS"); do
  settle; reset_peaks; start=$(now)
  ids=$(upload "$WORK"/*.heic); wait_processed $ids
  t=$(since "$start"); service=$(awk -v a="$service" -v b="$t" 'BEGIN { print a + b }')
  printf '%-6s %-44s %9.2f %12.2f %11s   %s\n' "$round" "service: $COUNT x 12 MP HEIC" "$t" "$(awk -v n="$COUNT" -v t="$t" 'BEGIN { print n / t }')" "$(peak "$SILO_PID")" "$(summary $ids)"
  settle; t=$("${TOOL[@]}" heifalone "$WORK" "$SLOTS"); alone=$(awk -v a="$alone" -v b="$t" 'BEGIN { print a + b }')
  printf '%-6s %-44s %9.2f %12.2f\n' "$round" "alone: heif-convert + ImageSharp + heif-enc, $SLOTS at a time" "$t" "$(awk -v n="$COUNT" -v t="$t" 'BEGIN { print n / t }')"
done
echo "ratio (service / alone): $(awk -v s="$service" -v a="$alone" 'BEGIN { printf "%.2f", s / a }')"
