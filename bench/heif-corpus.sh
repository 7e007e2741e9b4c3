#!/usr/bin/env bash
# The phone-format corpus against a real silo: each file uploaded alone, with the silo's peak resident memory
# (VmHWM, reset before each file), its final status, facts and renditions (or reason); then the answers of
# GET /media/{id}/renditions/thumb for three Accept headers. Starts its own stack (bench/stack.sh).
set -euo pipefail
source "$(dirname "$0")/stack.sh"
dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
WORK=$MEDIA_ENV_DIR/heif-corpus
rm -rf "$WORK" && mkdir -p "$WORK"
dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll heifcorpus "$WORK"
json() { curl -sS "${AUTH[@]}" "$API/media/$1"; }
field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }
printf '| %s | %s | %s | %s | %s |\n' file "silo peak MiB" status "facts (type, size, camera, bits, alpha, hdr)" "renditions or reason"
printf '|---|---|---|---|---|\n'
last=""
for file in "$WORK"/*; do
  settle; reset_peaks
  id=$(upload "$file"); wait_processed "$id"
  body=$(json "$id")
  status=$(echo "$body" | grep -o '"processing":{"status":"[a-z]*"' | cut -d'"' -f6)
  facts="$(echo "$body" | field detectedType) $(echo "$body" | field width)x$(echo "$body" | field height) $(echo "$body" | field cameraMake) $(echo "$body" | field bitDepth) $(echo "$body" | field hasAlpha) $(echo "$body" | field hdr)"
  if [ "$status" = ready ]; then
    what=$(echo "$body" | grep -o '"name":"[a-z]*\.[a-z0-9]*"' | cut -d'"' -f4 | tr '\n' ' ')
    last=$id
  else
    what=$(echo "$body" | grep -o '"reason":"[^"]*"' | cut -d'"' -f4)
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$(basename "$file")" "$(peak "$SILO_PID")" "$status" "$facts" "$what"
done
echo
for accept in 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8' 'image/webp,*/*' '*/*'; do
  printf 'Accept: %-70s -> ' "$accept"
  curl -sS "${AUTH[@]}" -H "Accept: $accept" -o /dev/null -D - "$API/media/$last/renditions/thumb" | tr -d '\r' \
    | awk 'NR == 1 { printf "%s ", $2 } tolower($1) ~ /^(content-type|vary|content-location|etag):$/ { printf "%s %s  ", $1, $2 } END { print "" }'
done
