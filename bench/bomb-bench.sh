#!/usr/bin/env bash
# Decompression bombs against a real silo: each file of the bomb corpus (multi-frame GIF, TIFF, APNG and WebP of
# 6000x6000 x 30 frames, an AVIF header claiming 100000x100000, a video of 10,000 tiny frames) is uploaded alone,
# and the silo's peak resident memory (VmHWM, reset before each file) is printed with the item's final status and
# reason; then the whole corpus at once, as the silo's slots take it.
#   bench/bomb-bench.sh            measures this tree
#   bench/bomb-bench.sh OTHER_TREE measures another checkout (a git worktree of an older commit: the "before")
#                                  with the corpus made by this tree
# Starts its own stack in <tree>/.data/bench (bench/stack.sh) and stops it after.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
TREE=$(cd "${1:-$HERE}" && pwd)
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
(cd "$HERE" && dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly)
dotnet "$HERE/bench/MediaBench/bin/Release/net10.0/MediaBench.dll" bombs "$CORPUS"
ffmpeg -v error -nostdin -y -f lavfi -i "testsrc=size=16x16:rate=100" -frames:v 10000 -c:v libx264 -preset ultrafast "$CORPUS/video-10000-tiny-frames.mp4"

source "$TREE/bench/stack.sh"
source "$HERE/bench/items.sh" # an older tree's stack.sh may not bring these
trap 'rm -rf "$CORPUS"; cleanup' EXIT
processing() { curl -sS "${AUTH[@]}" "$API/media/$1" | grep -o '"processing":{[^}]*' | head -1 || true; }
alive() { kill -0 "$SILO_PID" 2>/dev/null && echo yes || echo "NO (silo died)"; }

echo "tree: $TREE ($(git -C "$TREE" log --oneline -1 | cut -c1-60))"
echo "silo resident after start: $(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$SILO_PID/status") MiB"
printf '%-28s %9s %12s %6s  %s\n' file bytes silo_peak_MiB alive "status: reason"
for file in "$CORPUS"/*; do
  settle; reset_peaks
  id=$(upload "$file"); wait_processed "$id"
  result=$(processing "$id" | sed -E 's/.*"status":"([a-z]*)".*/\1/')
  reason=$(processing "$id" | grep -o '"reason":"[^"]*"' | cut -d'"' -f4 | cut -c1-110 || true)
  printf '%-28s %9s %12s %6s  %s\n' "$(basename "$file")" "$(stat -c %s "$file")" "$(peak "$SILO_PID")" "$(alive)" "$result: $reason"
done
settle; reset_peaks
ids=$(for file in "$CORPUS"/*; do upload "$file"; done)
wait_processed $ids
printf '%-28s %9s %12s %6s\n' "all at once ($(ls "$CORPUS" | wc -l) files)" - "$(peak "$SILO_PID")" "$(alive)"
