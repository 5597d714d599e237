#!/usr/bin/env bash
# Builds the brigade command-line program (release preset) and runs its main
# demos in sequence (`brigade demo`). Extra arguments go to `brigade demo`.
# Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/.ccache}

echo "==> building brigade (release preset)"
mkdir -p build
cmake --preset release >build/demo-configure.log 2>&1 || {
  cat build/demo-configure.log >&2
  exit 1
}
cmake --build --preset release --target brigade_app

echo "==> build/release/apps/brigade/brigade demo"
exec build/release/apps/brigade/brigade demo "$@"
