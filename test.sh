#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests on a real multi-silo cluster with real PostgreSQL and a
# real S3 server. Starts what they need in .data/test (own ports, fresh data each run) and stops it after.
# Extra arguments go to `dotnet test` (for example: ./test.sh --filter "FullyQualifiedName~Range").
# Longer fuzzing: FUZZ_SECONDS=600 FUZZ_CASES=100000 ./test.sh --filter "FullyQualifiedName~Fuzz"
#   TEST_PG_PORT (default 55433), TEST_S3_PORT (default 54569)
set -euo pipefail
cd "$(dirname "$0")"
export MEDIA_ENV_DIR=$PWD/.data/test
export PG_PORT=${TEST_PG_PORT:-55433}
export S3_PORT=${TEST_S3_PORT:-54569}
export PG_DB=media_test
# A second database in the same PostgreSQL, for the tests of storage shards (ShardedStorageTests).
export PG_SHARD_DBS=media_test_s1
export S3_BUCKET=media-test
# A throwaway cluster: durability settings off for speed.
export PG_EXTRA_CONF=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'

# The fuzzers (tests/UnitTests/ParserFuzzTests.cs, tests/IntegrationTests/HttpFuzzTests.cs) write what they tried here;
# it is printed at the end. FUZZ_CASES (default 3000 per parser property) and FUZZ_SECONDS (default 40) bound them.
export FUZZ_REPORT=${FUZZ_REPORT:-$PWD/.data/fuzz-report.txt}
rm -f "$FUZZ_REPORT"
report() { [ -s "$FUZZ_REPORT" ] && { echo "== fuzzing"; cat "$FUZZ_REPORT"; } || true; }
trap 'report; scripts/env.sh stop' EXIT
scripts/env.sh fresh
# The real tus client the interop tests drive, pinned by its lock file.
[ -d tests/interop/node_modules/tus-js-client ] || (cd tests/interop && npm ci --no-audit --no-fund --silent)
# An independent implementation of the Standard Webhooks scheme, to check the service's signatures (WebhookSignatureTests).
[ -d tools/webhooks/node_modules/standardwebhooks ] || (cd tools/webhooks && npm ci --no-audit --no-fund --silent)
# The OpenAPI validators and Kiota (tests/IntegrationTests/OpenApiTests.cs), pinned by a lock file and the tool manifest;
# the generated client's packages restored here, before the test generates and builds it.
[ -d tools/openapi/node_modules/@redocly/cli ] || (cd tools/openapi && npm ci --no-audit --no-fund --silent)
dotnet tool restore >/dev/null
dotnet restore tests/GeneratedClient/GeneratedClient.csproj --nologo -v quiet
# The web app's Uppy bundle (copied into the frontend's build) and playwright-core for the browser test, pinned by web/package-lock.json.
web/install.sh
eval "$(scripts/env.sh env)"

dotnet test Orleans.sln -c Release --nologo --logger "console;verbosity=normal" "$@"
