#!/usr/bin/env bash
# Media processing benchmark, one run, alternating rounds:
#   images: COUNT 12-megapixel JPEGs uploaded and processed (sniff, identify, decode, orient, strip, thumb and display
#           as WebP and JPEG, stored in S3), until every one is ready; next to ImageSharp alone doing the same decode,
#           orientation, resizes and encodes on the same files with the same parallelism (the silo's slots). Ratio = time
#           through the pipeline / time of ImageSharp alone.
#   video:  a 1080p clip with sound processed (probe, poster and stills, web.mp4, S3), next to the plain ffmpeg command
#           line doing only the web.mp4 transcode with the same options. Ratio = the service's web.mp4 step (from the
#           item's processing steps) / plain transcode; the whole processing is shown too.
#   hostile: the processing tests' hostile corpus; peak memory (VmHWM) of silo and frontend while it is processed.
# Starts its own stack in .data/bench (bench/stack.sh) and stops it after.
#   COUNT (default 12), ROUNDS (default 2), VIDEO_SECONDS (default 20), SLOTS (default 2)
set -euo pipefail
COUNT=${COUNT:-12}
ROUNDS=${ROUNDS:-2}
VIDEO_SECONDS=${VIDEO_SECONDS:-20}
SLOTS=${SLOTS:-2}
export Processing__Slots=$SLOTS
source "$(dirname "$0")/stack.sh"

dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
WORK=$MEDIA_ENV_DIR/processing
rm -rf "$WORK" && mkdir -p "$WORK"
"${TOOL[@]}" photos "$WORK/photos" "$COUNT"
"${TOOL[@]}" hostile "$WORK/hostile"
VIDEO=$WORK/clip-1080p.mp4
ffmpeg -v error -nostdin -y -f lavfi -i "testsrc2=duration=$VIDEO_SECONDS:size=1920x1080:rate=30" -f lavfi -i "sine=frequency=440:duration=$VIDEO_SECONDS" \
  -c:v libx264 -preset veryfast -c:a aac -shortest "$VIDEO"

field() { curl -sS "${AUTH[@]}" "$API/media/$1" | grep -o "\"$2\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
seconds_between() { awk -v a="$(date -d "$1" +%s.%N)" -v b="$(date -d "$2" +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# Warm-up, not measured: JIT compilation and the first ffmpeg runs.
ids=$(upload "$WORK/photos/photo-000.jpg" "$VIDEO"); wait_processed $ids

settle
echo "after warm-up: silo resident $(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$SILO_PID/status") MiB, frontend $(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$FRONTEND_PID/status") MiB"
printf '%-6s %-40s %9s %12s %14s %11s\n' round run seconds per_second frontend_MiB silo_MiB
reset_peaks; start=$(now)
hostile=$(upload "$WORK"/hostile/*); wait_processed $hostile
t=$(since "$start")
printf '%-6s %-40s %9.2f %12s %14s %11s   %s\n' - "hostile corpus ($(ls "$WORK/hostile" | wc -l) files)" "$t" - "$(peak "$FRONTEND_PID")" "$(peak "$SILO_PID")" "$(summary $hostile)"
curl -fsS -o /dev/null "$API/health/ready" && echo "service healthy after the hostile corpus"
declare -A total=()
for round in $(seq 1 "$ROUNDS"); do
  settle; reset_peaks; start=$(now)
  ids=$(upload "$WORK"/photos/*.jpg); wait_processed $ids
  t=$(since "$start")
  printf '%-6s %-40s %9.2f %12.2f %14s %11s   %s\n' "$round" "images: $COUNT x 12 MP through the service" "$t" "$(awk -v n="$COUNT" -v t="$t" 'BEGIN { print n / t }')" \
    "$(peak "$FRONTEND_PID")" "$(peak "$SILO_PID")" "$(summary $ids)"
  total[pipeline]=$(awk -v a="${total[pipeline]:-0}" -v b="$t" 'BEGIN { print a + b }')

  settle; t=$("${TOOL[@]}" resize "$WORK/photos" "$SLOTS")
  printf '%-6s %-40s %9.2f %12.2f\n' "$round" "images: ImageSharp alone, $SLOTS at a time" "$t" "$(awk -v n="$COUNT" -v t="$t" 'BEGIN { print n / t }')"
  total[imagesharp]=$(awk -v a="${total[imagesharp]:-0}" -v b="$t" 'BEGIN { print a + b }')

  settle; reset_peaks
  id=$(upload "$VIDEO"); POLL=1 wait_processed "$id"
  t=$(seconds_between "$(field "$id" startedAt)" "$(field "$id" finishedAt)")
  printf '%-6s %-40s %9.2f %12s %14s %11s   %s\n' "$round" "video: ${VIDEO_SECONDS} s 1080p, whole processing" "$t" - "$(peak "$FRONTEND_PID")" "$(peak "$SILO_PID")" "$(summary "$id")"
  total[video]=$(awk -v a="${total[video]:-0}" -v b="$t" 'BEGIN { print a + b }')
  t=$(curl -sS "${AUTH[@]}" "$API/media/$id" | grep -o '"name":"transcode","seconds":[0-9.]*' | cut -d: -f3)
  printf '%-6s %-40s %9.2f\n' "$round" "video: its web.mp4 step (ffmpeg via FFMpegCore)" "$t"
  total[step]=$(awk -v a="${total[step]:-0}" -v b="$t" 'BEGIN { print a + b }')

  settle; start=$(now)
  ffmpeg -v error -nostdin -y -protocol_whitelist file -f mov -i "$VIDEO" -map 0:v:0 -map '0:a:0?' -sn -dn -map_metadata -1 -map_chapters -1 \
    -vf scale=1280:720,setsar=1,format=yuv420p -c:v libx264 -preset veryfast -crf 23 -fpsmax 60 -c:a aac -b:a 128k -ac 2 -movflags +faststart -f mp4 "$WORK/plain.mp4"
  t=$(since "$start")
  printf '%-6s %-40s %9.2f\n' "$round" "video: plain ffmpeg, web.mp4 transcode only" "$t"
  total[ffmpeg]=$(awk -v a="${total[ffmpeg]:-0}" -v b="$t" 'BEGIN { print a + b }')
done

echo
echo "images: $COUNT x 4000x3000 JPEG, $ROUNDS rounds, $SLOTS slots"
echo "  through the service: $(awk -v n="$COUNT" -v r="$ROUNDS" -v t="${total[pipeline]}" 'BEGIN { printf "%.2f", n * r / t }') images/s;" \
  "ImageSharp alone: $(awk -v n="$COUNT" -v r="$ROUNDS" -v t="${total[imagesharp]}" 'BEGIN { printf "%.2f", n * r / t }') images/s;" \
  "overhead ratio $(awk -v a="${total[pipeline]}" -v b="${total[imagesharp]}" 'BEGIN { printf "%.2f", a / b }')"
echo "video: ${VIDEO_SECONDS} s 1080p30 to 720p web.mp4"
echo "  web.mp4 step in the service: $(awk -v t="${total[step]}" -v r="$ROUNDS" 'BEGIN { printf "%.2f", t / r }') s;" \
  "plain ffmpeg transcode: $(awk -v t="${total[ffmpeg]}" -v r="$ROUNDS" 'BEGIN { printf "%.2f", t / r }') s;" \
  "ratio $(awk -v a="${total[step]}" -v b="${total[ffmpeg]}" 'BEGIN { printf "%.2f", a / b }') (target: at most 1.10)"
echo "  whole processing (download, probe, stills, transcode, store): $(awk -v t="${total[video]}" -v r="$ROUNDS" 'BEGIN { printf "%.2f", t / r }') s;" \
  "ratio to the plain transcode $(awk -v a="${total[video]}" -v b="${total[ffmpeg]}" 'BEGIN { printf "%.2f", a / b }')"
