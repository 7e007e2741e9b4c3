#!/usr/bin/env bash
# Starts the whole service on 127.0.0.1 in the foreground: PostgreSQL, s3rver, one silo, one ApiFrontend.
# Ctrl-C stops all of it. Data stays in .data/run for the next start.
#   API_PORT (default 5080), SILO_PORT (11111), GATEWAY_PORT (30000), SILO_HTTP_PORT (11180: /metrics, /dashboard/),
#   PG_PORT (55432), S3_PORT (54568)
#   PG_SHARD_DBS (default media_s1): the storage shards' databases besides the control database `media`, which is
#     shard database db0 too; the i-th name becomes db<i>. PG_SHARD_DBS= ./run.sh: one database for everything.
#   SHARD_PG_PORT (default empty: the shard databases are in the same PostgreSQL): a port, e.g. 55442, puts them in a
#     second PostgreSQL cluster of their own on it (.data/run/pg-shard). Give scripts/cluster.sh the same two settings.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export MEDIA_ENV_DIR=${MEDIA_ENV_DIR:-$ROOT/.data/run}
API_PORT=${API_PORT:-5080}
# Two storage shard databases by default: the control database and media_s1.
export PG_SHARD_DBS=${PG_SHARD_DBS-${PG_DB:-media}_s1}

scripts/env.sh start
# Shards an earlier eval in the caller's shell left behind would be configured too: only env.sh's count.
unset "${!Storage__Shards__@}"
eval "$(scripts/env.sh env)"

# The web app's Uppy bundle (/app/vendor/uppy/), pinned by web/package-lock.json; the build copies it.
web/install.sh
echo "[run] building (Release)..." >&2
dotnet build Orleans.sln -c Release --nologo -v quiet -clp:ErrorsOnly

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo "[run] stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/env.sh stop
}
trap cleanup EXIT INT TERM

# Webhooks may target this machine's own addresses (a receiver on 127.0.0.1 while developing): the frontend checks a
# subscription's URL, and the silos check the address they connect to at delivery. Off by default; never in production.
(cd Silo/bin/Release/net10.0 && exec dotnet Silo.dll \
  --Silo:SiloPort="${SILO_PORT:-11111}" --Silo:GatewayPort="${GATEWAY_PORT:-30000}" --Silo:HttpPort="${SILO_HTTP_PORT:-11180}" \
  --Webhooks:AllowPrivateTargets=true) &
pids+=($!)
# Development keys, made on first start: an admin key and a key of the owner "dev".
(cd ApiFrontend/bin/Release/net10.0 && exec dotnet ApiFrontend.dll --urls "http://127.0.0.1:$API_PORT" \
  --Auth:BootstrapAdminKeyFile="$ROOT/.data/admin-api-key" --Auth:BootstrapUserKeyFile="$ROOT/.data/dev-api-key" \
  --Webhooks:AllowPrivateTargets=true) &
pids+=($!)

# The storage databases, for the line printed once ready.
storage="db0 = ${PG_DB:-media} (control)" i=0
for db in $MEDIA_SHARD_DBS; do i=$((i + 1)); storage+=", db$i = $db"; done
if [ "$i" -eq 0 ]; then
  storage="one database, ${PG_DB:-media} (control and media items)"
elif [ -n "${SHARD_PG_PORT:-}" ]; then
  storage+=" (db1.. in the second PostgreSQL, 127.0.0.1:$MEDIA_SHARD_PG_PORT)"
fi

for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/health/ready" 2>/dev/null; then
    echo "[run] Media service ready at http://127.0.0.1:$API_PORT (OpenAPI: /openapi/v1.json). Ctrl-C stops everything." >&2
    echo "[run] API keys: .data/dev-api-key (owner dev), .data/admin-api-key (admin). Send one as: Authorization: Bearer <key>" >&2
    echo "[run] Web app: http://127.0.0.1:$API_PORT/app/ (paste the key from .data/dev-api-key)" >&2
    echo "[run] Storage: $storage" >&2
    break
  fi
  sleep 0.5
done

# Stay in the foreground until Ctrl-C or until a process exits.
wait -n "${pids[@]}" || true
