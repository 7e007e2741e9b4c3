#!/usr/bin/env bash
# Fault probe: measures by hand how the service behaves under three faults, and prints one markdown table each.
#   1. A frontend killed (SIGKILL) at the end of an upload: per try, a tus upload of the whole file in ONE PATCH to
#      frontend B; once the body has left the client, wait a delay (0.02 s .. 1 s) and kill -9 frontend B. Then,
#      through frontend A: tus HEAD (status, Upload-Offset, Upload-Length), GET /media/{id}/metadata polled for up
#      to POLL_S s, and, when stored, the SHA-256 of /media/{id}/content against the file. "told complete" means
#      HEAD said offset == length (a tus client then reports success); a try told complete (by HEAD, or by a 2xx
#      PATCH answer with offset == length) whose item is not stored and byte-identical is a LOSS. Extra, not counted:
#      when not told complete, the rest of the file is sent from HEAD's offset through A, as a tus client would
#      resume, and the outcome is shown. Frontend B is restarted before each try.
#   2. S3 hung (s3rver SIGSTOPped): status and time of each route through frontend A (curl --max-time MAX_TIME),
#      then SIGCONT and the time until an upload succeeds again (up to 60 s).
#   3. PostgreSQL down (pg_ctl -m immediate stop, then 7 s, longer than the 5 s API key cache): status, time and
#      body of each route through frontend A, then PostgreSQL is started again and the time until an upload
#      succeeds again is measured (up to 90 s).
# Starts its own PostgreSQL, s3rver, 1 silo and 2 frontends with ROOT's scripts/cluster.sh and ROOT's Release
# binaries (it never builds: it stops if they are missing), all on 127.0.0.1; stops them at the end, whatever happens.
#
# Usage: bench/fault-probe.sh [ROOT]     ROOT: the repository to test (default: the one this script lives in)
# Environment:
#   TRIES (8)          tries of measurement 1; DELAYS (space-separated seconds) overrides the spread of kill delays
#                      (default for 8 tries: 0.02 0.05 0.1 0.2 0.35 0.5 0.75 1.0; otherwise geometric 0.02 .. 1)
#   SIZE_MIB (128)     size of the file of measurement 1 (random, made once per run)
#   POLL_S (30)        how long measurement 1 polls the metadata for "stored"
#   MAX_TIME (90)      curl --max-time of each timed route in measurements 2 and 3
#   OUT                file that gets a copy of stdout (default /tmp/fault-probe-<timestamp>.md)
#   PROBE_PG_PORT (55532), PROBE_S3_PORT (54668)   PostgreSQL and s3rver ports
#   PORT_A (5181), PORT_B (5182)                   frontend A (the survivor) and frontend B (killed)
#   PROBE_DIR (ROOT/.data/probe)                   MEDIA_ENV_DIR of the probe's cluster (wiped at start)
#   SKIP (empty)       measurements to skip, e.g. SKIP="1" or SKIP="2 3" (3 needs 2's stored item: it makes its own)
# Progress goes to stderr; tables go to stdout and to OUT.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "${1:-$HERE/..}" && pwd) || { echo "no such repository: ${1:-}" >&2; exit 2; }
HELPER=$HERE/fault-probe.mjs
TRIES=${TRIES:-8}
SIZE_MIB=${SIZE_MIB:-128}
POLL_S=${POLL_S:-30}
MAX_TIME=${MAX_TIME:-90}
OUT=${OUT:-/tmp/fault-probe-$(date +%Y%m%d-%H%M%S).md}
PROBE_PG_PORT=${PROBE_PG_PORT:-55532}
PROBE_S3_PORT=${PROBE_S3_PORT:-54668}
PORT_A=${PORT_A:-5181}
PORT_B=${PORT_B:-5182}
SKIP=${SKIP:-}
export MEDIA_ENV_DIR=${PROBE_DIR:-$ROOT/.data/probe}
export PG_PORT=$PROBE_PG_PORT S3_PORT=$PROBE_S3_PORT
unset PG_DB S3_BUCKET PG_BIN PG_EXTRA_CONF
CDIR=$MEDIA_ENV_DIR/cluster
S3_PIDF=$MEDIA_ENV_DIR/s3/s3rver.pid
PGDATA=$MEDIA_ENV_DIR/pg/data
PG_BIN=/usr/lib/postgresql/15/bin
A=http://127.0.0.1:$PORT_A
B=http://127.0.0.1:$PORT_B
TMP=$(mktemp -d /tmp/fault-probe.XXXXXX)
START_S=$(date +%s)

log() { printf '[fault-probe %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
out() { printf '%s\n' "$*" | tee -a "$OUT"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cl() { "$ROOT/scripts/cluster.sh" "$@"; }
skipped() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
# A markdown cell: no pipes or newlines.
cell() { printf '%s' "$*" | tr '\n\r|' '  /' | cut -c1-200; }

[ -f "$ROOT/Silo/bin/Release/net10.0/Silo.dll" ] && [ -f "$ROOT/ApiFrontend/bin/Release/net10.0/ApiFrontend.dll" ] \
  || { log "$ROOT has no Release build (Silo.dll, ApiFrontend.dll): build it first; this probe never builds"; exit 2; }
[ -x "$ROOT/scripts/cluster.sh" ] || { log "$ROOT/scripts/cluster.sh missing"; exit 2; }
for p in "$PROBE_PG_PORT" "$PROBE_S3_PORT" "$PORT_A" "$PORT_B"; do
  in_use "$p" && { log "port $p is in use; choose others (PROBE_PG_PORT, PROBE_S3_PORT, PORT_A, PORT_B)"; exit 2; }
done

s3_pid() { cat "$S3_PIDF" 2>/dev/null; }
front_pid() { cat "$CDIR/frontend-$1.pid" 2>/dev/null; }
pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
pg_stop_immediate() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1; }
pg_start() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$MEDIA_ENV_DIR/pg/log/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null 2>&1; }

cleaned=0
cleanup() {
  [ "$cleaned" = 1 ] && return
  cleaned=1
  trap - EXIT INT TERM
  log "cleaning up"
  local pid f
  pid=$(s3_pid) && [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
  # cluster.sh down stops at its first failure: whatever it leaves is killed by its pid file, then env.sh stop.
  cl down >/dev/null 2>&1
  for f in "$CDIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$f" "${f%.pid}.ports"
  done
  "$ROOT/scripts/env.sh" stop >/dev/null 2>&1
  pid=$(s3_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { kill -CONT "$pid"; kill -9 "$pid"; }
  rm -rf "$TMP" "$MEDIA_ENV_DIR/s3/data" "$MEDIA_ENV_DIR/payload.bin"
  log "done in $(( $(date +%s) - START_S )) s; tables in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$OUT"
log "repository $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')), cluster in $MEDIA_ENV_DIR, output $OUT"
cl down >/dev/null 2>&1
rm -rf "$MEDIA_ENV_DIR"
log "starting PostgreSQL :$PG_PORT, s3rver :$S3_PORT, 1 silo, frontends :$PORT_A (A) and :$PORT_B (B)"
cl up 1 0 >&2 || { log "cluster did not start"; exit 1; }
cl add-frontend "$PORT_A" >&2 || { log "frontend A did not start"; exit 1; }
cl add-frontend "$PORT_B" >&2 || { log "frontend B did not start"; exit 1; }
KEY=$(cat "$ROOT/.data/dev-api-key") || { log "no $ROOT/.data/dev-api-key"; exit 1; }
AUTH="Authorization: Bearer $KEY"
TUS="Tus-Resumable: 1.0.0"
export FAULT_PROBE_KEY=$KEY

SMALL=$TMP/small.bin
head -c $((1024 * 1024)) /dev/urandom >"$SMALL"

# curl with the key; the caller gives --max-time.
api() { curl -sS -H "$AUTH" "$@"; }

# Prints the id of a tus upload of LENGTH bytes created at BASE (empty on failure).
tus_create() {
  local base=$1 length=$2 loc
  loc=$(api --max-time 30 -D - -o /dev/null -X POST -H "$TUS" -H "Upload-Length: $length" \
    -H "Upload-Metadata: filename $(printf 'probe.bin' | base64)" "$base/files/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  printf '%s' "${loc##*/}"
}

# Prints the id of a new item of 1 MiB uploaded with POST /media/upload through A (empty on failure).
plain_upload() {
  api --max-time "${1:-30}" -o "$TMP/up.json" -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary @"$SMALL" "$A/media/upload?filename=${2:-a.bin}" >"$TMP/up.code" 2>/dev/null
  [ "$(cat "$TMP/up.code")" = 201 ] && node "$HELPER" json id <"$TMP/up.json"
}

# Waits until URL answers 200 (up to SECONDS).
wait_ready() {
  local url=$1 secs=$2 t0
  t0=$(date +%s)
  while [ $(( $(date +%s) - t0 )) -lt "$secs" ]; do
    curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null && return 0
    sleep 0.5
  done
  return 1
}

# One timed route: LABEL then curl arguments (the key, unless NOKEY is set, and --max-time are added). Prints a table row:
# route, status, seconds, bytes received, curl exit, and for non-2xx the first 200 characters of the body.
timed() {
  local label=$1 code rc status secs size body note=
  shift
  log "  $label"
  : >"$TMP/body"
  local auth=(-H "$AUTH")
  [ -n "${NOKEY:-}" ] && auth=()
  code=$(curl -sS "${auth[@]}" --max-time "$MAX_TIME" -o "$TMP/body" -w '%{http_code} %{time_total} %{size_download}' "$@" 2>"$TMP/err")
  rc=$?
  read -r status secs size <<<"$code"
  [ "$rc" = 28 ] && note="timeout"
  [ "$rc" != 0 ] && [ "$rc" != 28 ] && note="curl $rc: $(cell "$(cat "$TMP/err")")"
  body=
  case "$status" in 2??) ;; *) body=$(cell "$(head -c 200 "$TMP/body" 2>/dev/null)") ;; esac
  out "| $label | $status | $(printf '%.2f' "${secs:-0}") | ${size:-0} | ${rc}${note:+ ($note)} | ${body} |"
}

# Polls an upload (POST /media/upload through A) until it answers 201; prints "SECONDS ATTEMPTS LAST_STATUS" or
# "- ATTEMPTS LAST_STATUS" when it did not within LIMIT seconds. Seconds count from T0.
poll_upload() {
  local t0=$1 limit=$2 n=0 last=- left code
  while :; do
    left=$(awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { printf "%d", l - (b - a) }')
    [ "$left" -le 0 ] && { echo "- $n $last"; return 1; }
    [ "$left" -gt 30 ] && left=30
    n=$((n + 1))
    code=$(api --max-time "$left" -o "$TMP/poll.json" -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
      --data-binary @"$SMALL" "$A/media/upload?filename=poll.bin" 2>/dev/null)
    last=${code:-000}
    [ "$last" = 201 ] && { echo "$(since "$t0") $n $last"; return 0; }
    sleep 1
  done
}

# ---------------------------------------------------------------------------------------------------------------
# 1. Frontend B killed at the end of an upload
# ---------------------------------------------------------------------------------------------------------------
measure_kill() {
  local FILE=$MEDIA_ENV_DIR/payload.bin BYTES SHA delays=() i
  log "1: making a random file of $SIZE_MIB MiB"
  head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE"
  BYTES=$(stat -c %s "$FILE")
  SHA=$(sha256sum "$FILE" | cut -d' ' -f1)
  if [ -n "${DELAYS:-}" ]; then
    read -r -a delays <<<"$DELAYS"
  elif [ "$TRIES" -eq 8 ]; then
    delays=(0.02 0.05 0.1 0.2 0.35 0.5 0.75 1.0)
  else
    for i in $(seq 1 "$TRIES"); do
      delays+=("$(awk -v i="$i" -v n="$TRIES" 'BEGIN { printf "%.3f", (n == 1) ? 0.2 : 0.02 * exp(log(50) * (i - 1) / (n - 1)) }')")
    done
  fi

  out ""
  out "## 1. Frontend B killed (SIGKILL) after the last byte of a one-PATCH tus upload of $SIZE_MIB MiB"
  out ""
  out "PATCH answer: what B answered before it died (status, Upload-Offset, seconds after the last byte left the client),"
  out "or the client's error. HEAD, metadata and content through frontend A; metadata polled for up to $POLL_S s."
  out "\"resume\" (extra, not counted): what a tus client resuming from HEAD's offset through A got, and the item after it."
  out ""
  out "| try | delay s | PATCH answer (from B) | HEAD status | offset / length | told complete | status after ${POLL_S} s | stored ≤${POLL_S} s | byte-identical | verdict | resume (extra) |"
  out "|---|---|---|---|---|---|---|---|---|---|---|"
  local told_n=0 stored_n=0 same_n=0 loss_n=0 done_n=0 late=()
  for i in $(seq 1 "$TRIES"); do
    local d=${delays[$(( (i - 1) % ${#delays[@]} ))]} id pidB res st uo aaf kaf abk err hs ho hl told status ever t_stored same verdict resume patch_told t0 s
    log "1: try $i/$TRIES, kill delay $d s"
    if ! wait_ready "$B/health/ready" 60; then
      log "frontend B is not ready; restarting it"
      cl add-frontend "$PORT_B" >&2 || { out "| $i | $d | frontend B did not come back: stopped | | | | | | | | |"; break; }
    fi
    id=$(tus_create "$B" "$BYTES")
    [ -n "$id" ] || { out "| $i | $d | tus creation through B failed | | | | | | | | |"; continue; }
    pidB=$(front_pid "$PORT_B")
    res=$(node "$HELPER" patch "$B/files/$id" "$FILE" 0 "$d" "$pidB")
    IFS=$'\x1f' read -r st uo aaf kaf abk err < <(node "$HELPER" json status uploadOffset answerAfterFinishS killedAfterFinishS answeredBeforeKill error <<<"$res")
    for _ in $(seq 1 50); do kill -0 "$pidB" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pidB" 2>/dev/null && { log "frontend B (pid $pidB) still alive; killing it"; kill -9 "$pidB" 2>/dev/null; sleep 0.5; }
    local patch_cell
    if [ -n "$st" ]; then
      patch_cell="$st off=${uo:--} at +${aaf}s ($([ "$abk" = true ] && echo "before kill" || echo "after kill"))"
    else
      patch_cell="none: ${err:-?} (killed +${kaf:-?}s)"
    fi
    # What A says.
    hs=$(api --max-time 30 -I -D "$TMP/head" -o /dev/null -w '%{http_code}' -H "$TUS" "$A/files/$id" 2>/dev/null)
    ho=$(tr -d '\r' <"$TMP/head" | awk 'tolower($1) == "upload-offset:" { print $2 }')
    hl=$(tr -d '\r' <"$TMP/head" | awk 'tolower($1) == "upload-length:" { print $2 }')
    told=no
    [ "$hs" = 200 ] && [ -n "$ho" ] && [ "$ho" = "$hl" ] && told=yes
    patch_told=no
    case "$st" in 2??) [ "$uo" = "$BYTES" ] && patch_told=yes ;; esac
    # Poll the metadata.
    status=- ever=no t_stored=
    t0=$(now)
    while :; do
      s=$(api --max-time 10 "$A/media/$id/metadata" 2>/dev/null | node "$HELPER" json status)
      [ -n "$s" ] && status=$s
      [ "$status" = stored ] && { ever=yes; t_stored=$(since "$t0"); break; }
      case "$status" in failed | expired | terminated) break ;; esac
      awk -v a="$t0" -v b="$(now)" -v l="$POLL_S" 'BEGIN { exit !(b - a >= l) }' && break
      sleep 1
    done
    same=-
    if [ "$ever" = yes ]; then
      [ "$(api --max-time 120 "$A/media/$id/content" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$SHA" ] && same=yes || same=no
    fi
    [ "$told" = yes ] && told_n=$((told_n + 1))
    [ "$ever" = yes ] && stored_n=$((stored_n + 1))
    [ "$same" = yes ] && same_n=$((same_n + 1))
    if { [ "$told" = yes ] || [ "$patch_told" = yes ]; } && ! { [ "$ever" = yes ] && [ "$same" = yes ]; }; then
      verdict="**LOSS**"; [ "$told" = no ] && verdict="**LOSS** (told by PATCH)"
      loss_n=$((loss_n + 1))
    elif [ "$ever" = yes ] && [ "$same" = yes ]; then
      verdict=ok; done_n=$((done_n + 1))
    elif [ "$ever" = yes ]; then
      verdict="corrupt (not told complete)"
    else
      verdict="not complete (client resumes)"
    fi
    # Extra: resume as a tus client would.
    resume=-
    if [ "$told" = no ] && [ "$ever" = no ] && [ "$hs" = 200 ] && [ -n "$ho" ]; then
      local rres rst ruo rerr rstatus=- rsame=-
      log "1: try $i: resuming from offset $ho through A"
      rres=$(node "$HELPER" patch "$A/files/$id" "$FILE" "$ho")
      IFS=$'\x1f' read -r rst ruo rerr < <(node "$HELPER" json status uploadOffset error <<<"$rres")
      t0=$(now)
      while :; do
        s=$(api --max-time 10 "$A/media/$id/metadata" 2>/dev/null | node "$HELPER" json status)
        [ -n "$s" ] && rstatus=$s
        [ "$rstatus" = stored ] && break
        case "$rstatus" in failed | expired | terminated) break ;; esac
        awk -v a="$t0" -v b="$(now)" -v l=10 'BEGIN { exit !(b - a >= l) }' && break
        sleep 1
      done
      if [ "$rstatus" = stored ]; then
        [ "$(api --max-time 120 "$A/media/$id/content" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$SHA" ] && rsame=identical || rsame=DIFFERENT
      fi
      resume="PATCH @$ho: ${rst:-none${rerr:+ ($rerr)}} off=${ruo:--} -> $rstatus${rsame:+ $rsame}"
      [ "$rsame" = - ] && resume="PATCH @$ho: ${rst:-none${rerr:+ ($rerr)}} off=${ruo:--} -> $rstatus"
    fi
    out "| $i | $d | $(cell "$patch_cell") | ${hs:-000} | ${ho:--} / ${hl:--} | $told | $status | $ever${t_stored:+ (${t_stored}s)} | $same | $verdict | $(cell "$resume") |"
    # Free s3rver's disk: every try leaves SIZE_MIB MiB. An item still not stored is re-read after the last try.
    local final_status
    final_status=$(api --max-time 10 "$A/media/$id/metadata" 2>/dev/null | node "$HELPER" json status)
    if [ "$final_status" = stored ]; then
      api --max-time 30 -o /dev/null -X DELETE "$A/media/$id" 2>/dev/null
    else
      late+=("$i:$id:$(date +%s)")
    fi
    log "1: restarting frontend B"
    cl add-frontend "$PORT_B" >&2 || log "frontend B did not restart (next try retries)"
  done
  if ((${#late[@]})); then
    out ""
    out "Items not stored at the end of their try, read again after the last try (extra):"
    out ""
    out "| try | seconds since its try ended | HEAD status | offset / length | metadata status | size |"
    out "|---|---|---|---|---|---|"
    local e t lid lt lhs lho lhl lst lsz
    for e in "${late[@]}"; do
      IFS=: read -r t lid lt <<<"$e"
      lhs=$(api --max-time 30 -I -D "$TMP/head" -o /dev/null -w '%{http_code}' -H "$TUS" "$A/files/$lid" 2>/dev/null)
      lho=$(tr -d '\r' <"$TMP/head" | awk 'tolower($1) == "upload-offset:" { print $2 }')
      lhl=$(tr -d '\r' <"$TMP/head" | awk 'tolower($1) == "upload-length:" { print $2 }')
      IFS=$'\x1f' read -r lst lsz < <(api --max-time 10 "$A/media/$lid/metadata" 2>/dev/null | node "$HELPER" json status size)
      out "| $t | $(( $(date +%s) - lt )) | ${lhs:-000} | ${lho:--} / ${lhl:--} | ${lst:--} | ${lsz:--} |"
      api --max-time 30 -o /dev/null -X DELETE "$A/media/$lid" 2>/dev/null
    done
  fi
  out ""
  out "Summary: told complete $told_n/$TRIES, stored within ${POLL_S} s $stored_n/$TRIES, byte-identical $same_n/$TRIES, **LOSS $loss_n/$TRIES** (told complete but not stored+identical)."
  rm -f "$FILE"
}

# ---------------------------------------------------------------------------------------------------------------
# 2. S3 hung
# ---------------------------------------------------------------------------------------------------------------
SMALL_ID=
measure_s3() {
  local tus_id pid line secs attempts last t0
  log "2: preparing a stored item and a tus upload"
  SMALL_ID=$(plain_upload 60 a.bin)
  tus_id=$(tus_create "$A" $((1024 * 1024)))
  out ""
  out "## 2. S3 hung (s3rver SIGSTOPped), routes through frontend A, curl --max-time $MAX_TIME"
  out ""
  if [ -z "$SMALL_ID" ] || [ -z "$tus_id" ]; then
    out "Impossible: could not prepare (stored item '${SMALL_ID}', tus upload '${tus_id}')."
    return
  fi
  api --max-time 30 -o /dev/null "$A/media/$SMALL_ID/metadata"
  api --max-time 30 -o /dev/null "$A/media/$SMALL_ID/content"
  pid=$(s3_pid)
  log "2: kill -STOP s3rver (pid $pid)"
  kill -STOP "$pid" || { out "Impossible: could not stop s3rver (pid '$pid')."; return; }
  out "Stored item $SMALL_ID (1 MiB), tus upload $tus_id (Upload-Length 1 MiB). Status 000: no answer."
  out ""
  out "| route | status | seconds | bytes received | curl exit | body (non-2xx, first 200 chars) |"
  out "|---|---|---|---|---|---|"
  NOKEY=1 timed "GET /health/ready (no key)" "$A/health/ready"
  timed "POST /media/upload (1 MiB)" -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$SMALL" "$A/media/upload?filename=b.bin"
  timed "tus POST /files/ (create)" -X POST -H "$TUS" -H "Upload-Length: 1048576" "$A/files/"
  timed "tus PATCH /files/{id} (1 MiB)" -X PATCH -H "$TUS" -H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' \
    --data-binary @"$SMALL" "$A/files/$tus_id"
  timed "tus HEAD /files/{id}" -I -H "$TUS" "$A/files/$tus_id"
  timed "GET /media/{id}/metadata" "$A/media/$SMALL_ID/metadata"
  timed "GET /media/{id}/content" "$A/media/$SMALL_ID/content"
  log "2: kill -CONT s3rver"
  kill -CONT "$pid"
  t0=$(now)
  read -r secs attempts last <<<"$(poll_upload "$t0" 60)"
  out ""
  if [ "$secs" != - ]; then
    out "After SIGCONT: POST /media/upload succeeded again after $secs s ($attempts attempt(s))."
  else
    out "After SIGCONT: POST /media/upload did NOT succeed within 60 s ($attempts attempts, last status $last)."
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# 3. PostgreSQL down
# ---------------------------------------------------------------------------------------------------------------
measure_pg() {
  local before secs attempts last t0 tstart
  out ""
  out "## 3. PostgreSQL down (pg_ctl -m immediate stop, then 7 s), routes through frontend A, curl --max-time $MAX_TIME"
  out ""
  if [ -z "$SMALL_ID" ]; then
    SMALL_ID=$(plain_upload 60 a.bin)
    [ -n "$SMALL_ID" ] || { out "Impossible: no stored item could be made."; return; }
  fi
  before=$(api --max-time 30 -o "$TMP/meta.json" -w '%{http_code}' "$A/media/$SMALL_ID/metadata" 2>/dev/null)
  log "3: metadata of $SMALL_ID read ($before); stopping PostgreSQL (immediate)"
  pg_stop_immediate || { out "Impossible: pg_ctl stop failed."; return; }
  pg_running && { out "Impossible: PostgreSQL still runs after pg_ctl stop."; return; }
  sleep 7
  out "Stored item $SMALL_ID, its metadata read just before the stop (answer $before). Status 000: no answer."
  out ""
  out "| route | status | seconds | bytes received | curl exit | body (non-2xx, first 200 chars) |"
  out "|---|---|---|---|---|---|"
  NOKEY=1 timed "GET /health/ready (no key)" "$A/health/ready"
  timed "POST /media/upload (1 MiB)" -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$SMALL" "$A/media/upload?filename=c.bin"
  timed "tus POST /files/ (create)" -X POST -H "$TUS" -H "Upload-Length: 1048576" "$A/files/"
  timed "GET /media?limit=5 (search)" "$A/media?limit=5"
  timed "PATCH /media/{id}/metadata" -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{"title":"x"}' "$A/media/$SMALL_ID/metadata"
  timed "GET /media/{id}/metadata" "$A/media/$SMALL_ID/metadata"
  timed "GET /media/{id}/content" "$A/media/$SMALL_ID/content"
  log "3: starting PostgreSQL again"
  tstart=$(now)
  pg_start || log "pg_ctl start failed"
  t0=$(now)
  read -r secs attempts last <<<"$(poll_upload "$t0" 90)"
  out ""
  out "PostgreSQL start took $(awk -v a="$tstart" -v b="$t0" 'BEGIN { printf "%.2f", b - a }') s (pg_ctl -w)."
  if [ "$secs" != - ]; then
    out "After it accepted connections: POST /media/upload succeeded again after $secs s ($attempts attempt(s))."
  else
    out "After it accepted connections: POST /media/upload did NOT succeed within 90 s ($attempts attempts, last status $last)."
  fi
}

out "# Fault probe of $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ', with uncommitted changes')), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
skipped 1 || measure_kill
skipped 2 || measure_s3
skipped 3 || measure_pg
out ""
out "Run time: $(( $(date +%s) - START_S )) s."
