#!/usr/bin/env bash
# Sharded storage benchmark, one run, two phases on this machine: 1 shard (every item in one database) and 2 shards
# (db0 in the first PostgreSQL with the control database, db1 in a second PostgreSQL cluster of its own), each on a
# fresh stack (bench/stack.sh: one silo, one frontend). Per phase:
#   creations/s  tus POST /files with Upload-Length (a state write, an index row, reminders), CONCURRENCY clients
#   appends/s    64 KiB tus PATCHes to open uploads (each records the tail: a state write), CONCURRENCY clients
#   writes per database (pg_stat_user_tables: state, index, reminders), to see the split and what stays on control
#   search p50/p99 over ROWS index rows of one owner, seeded straight into media_index (all in one database, or each
#     row in its shard's database), 8 clients: the newest page, a tag, a text query by relevance, two tags
# and the ratios 2 shards / 1 shard. On 2 cores both clusters share the same CPUs and disk: the ratio measures
# contention and the cost of the fan-out, not added hardware.
#   CONCURRENCY (default 32), RUN_SECONDS (default 15), ROWS (default 100000), OUT (default bench/shard-bench.md)
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${CONCURRENCY:-32}
RUN_SECONDS=${RUN_SECONDS:-15}
ROWS=${ROWS:-100000}
OUT=${OUT:-bench/shard-bench.md}
dotnet build bench/MediaBench -c Release --nologo -v quiet -clp:ErrorsOnly
TOOL=(dotnet bench/MediaBench/bin/Release/net10.0/MediaBench.dll)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
queries=("limit=20" "tag=tag3&limit=20" "q=lighthouse&sort=relevance&limit=20" "tag=tag3&tag=tag27&limit=20")

# One phase in a subshell of its own (its stack stops when it ends). Prints "key value" lines into $WORK/<phase>.
phase() {
  local name=$1 shards=$2
  (
    export SHARDS=$shards
    [ "$shards" -gt 1 ] && export SHARD_PG_PORT=55444
    # Creations leave uploads unfinished on purpose: the per-owner limit of unfinished uploads is lifted for the run.
    export Quotas__MaxUnfinishedUploads=100000000
    source bench/stack.sh
    API=http://127.0.0.1:$API_PORT
    psql_on() { # database, then psql arguments
      local db=$1; shift
      if [ "$db" = "$PG_DB" ]; then scripts/env.sh psql -tA "$@"; else "$PG_BIN_DIR"/psql -X -q -h 127.0.0.1 -p "${SHARD_PG_PORT:-55434}" -U "$PG_USER_NAME" -d "$db" -tA "$@"; fi
    }
    PG_BIN_DIR=/usr/lib/postgresql/15/bin
    if [ "$(id -u)" -eq 0 ]; then PG_USER_NAME=postgres; else PG_USER_NAME=$(id -un); fi
    dbs=("$PG_DB" $PG_SHARD_DBS)
    writes() { # state, index and reminder row writes per database so far
      local db
      for db in "${dbs[@]}"; do
        psql_on "$db" -c "SELECT '$db', coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del) FILTER (WHERE relname = 'orleansstorage'), 0),
          coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del) FILTER (WHERE relname = 'media_index'), 0),
          coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del) FILTER (WHERE relname = 'orleansreminderstable'), 0)
          FROM pg_stat_user_tables" | tr '|' ' '
      done
    }
    for mode in create append; do
      settle
      before=$(writes)
      read -r rps p50 p99 n errors < <("${TOOL[@]}" shardload "$API" "$mode" "$CONCURRENCY" "$RUN_SECONDS")
      sleep 1 # statistics are sent to the collector after each transaction's end
      after=$(writes)
      echo "$mode $rps $p50 $p99 $n $errors"
      paste <(echo "$before") <(echo "$after") | awk -v m="$mode" '{ printf "writes-%s %s state %d index %d reminders %d\n", m, $1, $6 - $2, $7 - $3, $8 - $4 }'
    done

    # Search rows, each in its shard's database (shard s is on database s mod N, as seeded).
    n=${#dbs[@]}
    for i in "${!dbs[@]}"; do
      psql_on "${dbs[$i]}" -q -c "
        WITH words AS (SELECT array['harbor','sunset','mountain','river','forest','city','beach','night','market','bridge','garden','storm',
            'castle','desert','island','lake','festival','train','street','winter','summer','autumn','spring','snow','rain','cloud','ocean',
            'valley','temple','museum','concert','portrait','wedding','family','dog','cat','bird','horse','flower','tree','road','car','boat',
            'plane','station','tower','church','school','park','square','harvest','canyon','glacier','volcano','reef','cliff','meadow','orchard',
            'vineyard','lighthouse','pier','skyline','alley','carnival'] AS w)
        INSERT INTO media_index (service_id, owner, media_id, version, status, kind, content_type, size, file_name, title, description,
                                 tags, keywords, created_at, updated_at)
        SELECT 'media', 'bench-search', id, 1, 'stored', (array['image','video','audio'])[1 + g % 3], 'image/jpeg', 1000 + g, 'file' || g || '.jpg',
               initcap(w[1 + (g * 7) % 64]) || ' ' || w[1 + (g * 13 + 5) % 64] || ' ' || w[1 + (g * 29 + 11) % 64],
               'A ' || w[1 + (g * 17 + 3) % 64] || ' near the ' || w[1 + (g * 23 + 7) % 64],
               array['tag' || (g * 7) % 10, 'tag' || (10 + (g * 13) % 50)], array[w[1 + (g * 37 + 2) % 64]],
               now() - make_interval(secs => g * 300), now()
        FROM (SELECT g, (g::bigint * 1000003) << 16 AS id FROM generate_series(1, $ROWS) g) AS r, words
        WHERE ((id >> 16) & 63) % $n = $i
        ON CONFLICT DO NOTHING;
        ANALYZE media_index;" >/dev/null
    done
    key=$(curl -fsS -H "Authorization: Bearer $(cat "$MEDIA_ENV_DIR/admin-api-key")" -H 'Content-Type: application/json' \
      -d '{"owner":"bench-search"}' "$API/admin/keys" | sed -E 's/.*"key":"([^"]*)".*/\1/')
    for q in "${queries[@]}"; do
      echo "$API/media?$q" >"$WORK/$name.url"
      settle
      read -r rps p50 p99 n errors < <(MEDIA_API_KEY=$key "${TOOL[@]}" load "$WORK/$name.url" 8 "$RUN_SECONDS")
      echo "search $q $rps $p50 $p99 $n $errors"
    done
  ) >"$WORK/$name" 2>"$WORK/$name.log" || { echo "phase $name failed:" >&2; tail -30 "$WORK/$name.log" >&2; exit 1; }
}

phase one 1
phase two 2
commit=$(git rev-parse --short HEAD)
value() { awk -v k="$2" -v c="$3" '$1 == k { print $c; exit }' "$WORK/$1"; }
svalue() { awk -v q="$2" -v c="$3" '$1 == "search" && $2 == q { print $c; exit }' "$WORK/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
{
  echo "# Sharded storage benchmark ($commit, $(date -u +%Y-%m-%d), $(nproc) cores)"
  echo
  echo "One silo, one frontend; 1 shard = every item in one database; 2 shards = db0 (with the control database) and db1 in"
  echo "a second PostgreSQL cluster on the same machine. $CONCURRENCY clients, $RUN_SECONDS s per run."
  echo
  echo "| load | 1 shard req/s | p50 / p99 ms | 2 shards req/s | p50 / p99 ms | ratio (2/1) |"
  echo "|---|---|---|---|---|---|"
  for mode in create append; do
    echo "| $mode | $(value one "$mode" 2) | $(value one "$mode" 3) / $(value one "$mode" 4) | $(value two "$mode" 2) | $(value two "$mode" 3) / $(value two "$mode" 4) | $(ratio "$(value two "$mode" 2)" "$(value one "$mode" 2)") |"
  done
  echo
  echo "Row writes per database during each run (state, index, reminders):"
  echo
  echo '```'
  grep -h '^writes-' "$WORK/one" | sed 's/^/1 shard:  /'
  grep -h '^writes-' "$WORK/two" | sed 's/^/2 shards: /'
  echo '```'
  echo
  echo "Search over $ROWS index rows of one owner, 8 clients (2 shards: one query per database, merged):"
  echo
  echo "| query | 1 shard req/s | p50 / p99 ms | 2 shards req/s | p50 / p99 ms | p99 ratio (2/1) |"
  echo "|---|---|---|---|---|---|"
  for q in "${queries[@]}"; do
    echo "| \`$q\` | $(svalue one "$q" 3) | $(svalue one "$q" 4) / $(svalue one "$q" 5) | $(svalue two "$q" 3) | $(svalue two "$q" 4) / $(svalue two "$q" 5) | $(ratio "$(svalue two "$q" 5)" "$(svalue one "$q" 5)") |"
  done
  echo
  errors() { awk '$1 == "create" || $1 == "append" { printf "%s ", $6 } $1 == "search" { printf "%s ", $7 }' "$WORK/$1"; }
  echo "Failed requests (create, append, each search): 1 shard $(errors one), 2 shards $(errors two)"
} | tee "$OUT"
