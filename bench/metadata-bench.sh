#!/usr/bin/env bash
# Metadata benchmark, one run:
#   reads:  warm GET /media/{id}/metadata (answered from the grain's memory) next to the same route re-reading
#           PostgreSQL each time (?source=storage) and next to /health/live (no checks: the framework's ceiling on this
#           host); requests per second and p50/p99, CONCURRENCY clients, alternating rounds.
#   search: GET /media over ROWS index rows (seeded straight into media_index, as the grains would have written them),
#           p50/p99 per kind of query, and PostgreSQL's plan for each (EXPLAIN ANALYZE of the service's own SQL).
# Starts its own stack in .data/bench (bench/stack.sh) and stops it after.
#   ITEMS (default 200), ROWS (default 100000), CONCURRENCY (default 16), RUN_SECONDS (default 8), ROUNDS (default 2)
set -euo pipefail
ITEMS=${ITEMS:-200}
ROWS=${ROWS:-100000}
CONCURRENCY=${CONCURRENCY:-16}
SECONDS_PER_RUN=${RUN_SECONDS:-8}
ROUNDS=${ROUNDS:-2}
export Metadata__AllowStorageReads=true
source "$(dirname "$0")/stack.sh"

dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
API=http://127.0.0.1:$API_PORT
WORK=$MEDIA_ENV_DIR/metadata
rm -rf "$WORK" && mkdir -p "$WORK"

# Items with annotations, through the API.
for i in $(seq 1 "$ITEMS"); do
  id=$(curl -sS "${AUTH[@]}" -X POST --data-binary "note $i" "$API/media/upload?filename=note-$i.txt" | grep -o '"id":[0-9]*' | cut -d: -f2)
  curl -sS "${AUTH[@]}" -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d "{\"title\":\"Note $i\",\"tags\":[\"bench\",\"n$((i % 10))\"],\"keywords\":[\"k$i\"],\"custom\":{\"i\":\"$i\"}}" "$API/media/$id/metadata"
  echo "$API/media/$id/metadata" >>"$WORK/warm.urls"
  echo "$API/media/$id/metadata?source=storage" >>"$WORK/storage.urls"
done
echo "$API/health/live" >"$WORK/trivial.urls"

echo "reads: $ITEMS items, $CONCURRENCY clients, ${SECONDS_PER_RUN} s per run"
printf '%-6s %-44s %10s %9s %9s %9s %7s\n' round run req/s p50_ms p99_ms requests errors
declare -A rps=() p99=()
for round in $(seq 1 "$ROUNDS"); do
  for run in trivial warm storage; do
    settle
    read -r r p50 p99v n errors < <("${TOOL[@]}" load "$WORK/$run.urls" "$CONCURRENCY" "$SECONDS_PER_RUN")
    case $run in
      trivial) label="/health/live (framework ceiling)" ;;
      warm) label="GET /media/{id}/metadata (grain memory)" ;;
      storage) label="same, ?source=storage (PostgreSQL read)" ;;
    esac
    printf '%-6s %-44s %10s %9s %9s %9s %7s\n' "$round" "$label" "$r" "$p50" "$p99v" "$n" "$errors"
    rps[$run]=$(awk -v a="${rps[$run]:-0}" -v b="$r" 'BEGIN { print a + b }')
    p99[$run]="${p99[$run]:-} $p99v"
  done
done
mean() { awk -v t="${rps[$1]}" -v r="$ROUNDS" 'BEGIN { printf "%.0f", t / r }'; }
echo "mean req/s: framework $(mean trivial), grain memory $(mean warm), PostgreSQL read $(mean storage);" \
  "grain/framework $(awk -v a="$(mean warm)" -v b="$(mean trivial)" 'BEGIN { printf "%.2f", a / b }')," \
  "grain/PostgreSQL $(awk -v a="$(mean warm)" -v b="$(mean storage)" 'BEGIN { printf "%.2f", a / b }'); p99 ms: framework${p99[trivial]}, grain${p99[warm]}, PostgreSQL${p99[storage]}"

# Search: seed the index with ROWS rows of the bench service and its key's owner (ids far from real items').
scripts/env.sh psql -q -c "
  WITH words AS (SELECT array['harbor','sunset','mountain','river','forest','city','beach','night','market','bridge','garden','storm',
      'castle','desert','island','lake','festival','train','street','winter','summer','autumn','spring','snow','rain','cloud','ocean',
      'valley','temple','museum','concert','portrait','wedding','family','dog','cat','bird','horse','flower','tree','road','car','boat',
      'plane','station','tower','church','school','park','square','harvest','canyon','glacier','volcano','reef','cliff','meadow','orchard',
      'vineyard','lighthouse','pier','skyline','alley','carnival'] AS w)
  INSERT INTO media_index (service_id, owner, media_id, version, status, processing, kind, content_type, size, file_name, title, description,
                           tags, keywords, created_at, updated_at)
  SELECT 'media', 'dev', 1000000000 + g, 1, 'stored', (array['ready','ready','ready','rejected','processing'])[1 + g % 5],
         (array['image','video','audio'])[1 + g % 3], 'image/jpeg', 1000 + g, 'file' || g || '.jpg',
         initcap(w[1 + (g * 7) % 64]) || ' ' || w[1 + (g * 13 + 5) % 64] || ' ' || w[1 + (g * 29 + 11) % 64],
         'A ' || w[1 + (g * 17 + 3) % 64] || ' near the ' || w[1 + (g * 23 + 7) % 64] || ' in the ' || w[1 + (g * 31 + 1) % 64],
         array['tag' || (g * 7) % 10, 'tag' || (10 + (g * 13) % 50), 'tag' || (100 + (g * 31) % 400)],
         array[w[1 + (g * 37 + 2) % 64], w[1 + (g * 41 + 9) % 64]],
         now() - make_interval(secs => g * 300), now()
  FROM generate_series(1, $ROWS) g, words
  ON CONFLICT DO NOTHING;
  ANALYZE media_index;"
queries=("" "tag=tag3" "tag=tag3&tag=tag27" "tag=tag3&tag=tag27&tag=tag379" "q=lighthouse" "q=lighthouse&sort=relevance"
  "q=harbor%20sunset" "type=video&tag=tag17" "status=rejected&type=audio" "tag=tag250&q=river")
echo
echo "search over $(scripts/env.sh psql -tAc "SELECT count(*) FROM media_index WHERE service_id = 'media' AND owner = 'dev'") index rows of one owner, 8 clients, 5 s per query"
printf '%-36s %10s %9s %9s %7s\n' query req/s p50_ms p99_ms errors
for query in "${queries[@]}"; do
  echo "$API/media?$query" >"$WORK/search.urls"
  settle
  read -r r p50 p99v n errors < <("${TOOL[@]}" load "$WORK/search.urls" 8 5)
  printf '%-36s %10s %9s %9s %7s\n' "${query:-(none: newest first)}" "$r" "$p50" "$p99v" "$errors"
done

echo
echo "plans (EXPLAIN ANALYZE of the service's search SQL):"
"${TOOL[@]}" explain "$(scripts/env.sh env | sed -n 's/^export ConnectionStrings__Media=//p' | tr -d "'\"")" media dev "${queries[@]}" | sed 's/^/  /'
