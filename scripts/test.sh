#!/usr/bin/env bash
# Configures (Release, Ninja), builds everything and runs the whole test suite.
#
#   scripts/test.sh [BUILD_DIR] [extra cmake -D options...]
#
# BUILD_DIR defaults to ./build. Environment: JOBS (build jobs, default: all cores),
# CTEST_TIMEOUT (seconds per test, default 900), CTEST_ARGS (extra ctest arguments, e.g. "-R gguf").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
[ $# -gt 0 ] && shift
JOBS=${JOBS:-$(nproc)}

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" --parallel "$JOBS"
# shellcheck disable=SC2086  # CTEST_ARGS is a list of words on purpose
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error \
  --timeout "${CTEST_TIMEOUT:-900}" ${CTEST_ARGS:-}
