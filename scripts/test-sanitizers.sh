#!/usr/bin/env bash
# Builds moecpu with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) and runs the test suite.
#
#   scripts/test-sanitizers.sh [BUILD_DIR] [extra cmake -D options...]
#
# BUILD_DIR defaults to ./build-asan. -O1 -g keeps the build quick and the reports readable.
# Any ASan/UBSan/LSan report aborts the test with a stack trace, so ctest marks it failed.
# Environment: JOBS, CTEST_TIMEOUT (seconds per test, default 1800), CTEST_ARGS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build-asan}
[ $# -gt 0 ] && shift
JOBS=${JOBS:-$(nproc)}

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DMOECPU_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DMOECPU_BUILD_EXAMPLES=ON "$@"
cmake --build "$BUILD_DIR" --parallel "$JOBS"

export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
# shellcheck disable=SC2086
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error \
  --timeout "${CTEST_TIMEOUT:-1800}" ${CTEST_ARGS:-}
