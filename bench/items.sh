# Sourced by the benchmarks (through bench/stack.sh): uploads through POST /media/upload and waiting on items
# processing. Needs API_PORT, AUTH and MEDIA_API_KEY (bench/stack.sh sets them).
API=http://127.0.0.1:$API_PORT
# Uploads every file given (4 at a time) and prints the ids.
upload() {
  printf '%s\n' "$@" | xargs -P 4 -I{} sh -c 'curl -sS -H "Authorization: Bearer $MEDIA_API_KEY" -X POST --data-binary @"$0" "$1/media/upload?filename=$(basename "$0")" | grep -o "\"id\":[0-9]*" | cut -d: -f2' {} "$API"
}
status_of() { curl -sS "${AUTH[@]}" "$API/media/$1" | grep -o '"processing":{"status":"[a-z]*"' | cut -d'"' -f6; }
# Waits until no item given is processing any more, looking every POLL seconds (polling takes CPU from the work).
POLL=0.2
wait_processed() {
  local id pending
  while :; do
    pending=0
    for id in "$@"; do [ "$(status_of "$id")" = processing ] && pending=1 && break; done
    [ $pending -eq 0 ] && break
    sleep "$POLL"
  done
}
summary() { for id in "$@"; do status_of "$id"; done | sort | uniq -c | awk '{ printf "%s %s  ", $2, $1 }'; }
