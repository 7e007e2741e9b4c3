#!/usr/bin/env bash
# Installs the web app's pinned npm packages (uppy for the page, playwright-core for the browser test) with npm ci,
# once per lock file: a stamp in node_modules remembers which package-lock.json was installed, so a second run is
# instant and a changed lock is installed again. Called by ./test.sh and ./run.sh before they build (the frontend's
# build copies uppy's dist into its output, where /app/vendor/uppy/ serves it from).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$stamp" 2>/dev/null || [ ! -f node_modules/uppy/dist/uppy.min.mjs ]; then
  echo "[web] npm ci (pinned by web/package-lock.json)" >&2
  npm ci --no-audit --no-fund --silent --ignore-scripts
  cp package-lock.json "$stamp"
fi
