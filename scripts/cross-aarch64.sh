#!/usr/bin/env bash
# Cross-compiles moecpu for aarch64 (library + tests) and runs the tests under qemu-user:
# all of them with `-cpu max` (NEON with dotprod: the "neon-dotprod" table is active), then the
# kernel tests with `-cpu cortex-a53` (plain armv8-a NEON: the dispatcher must fall back to the
# "neon" table).
#
#   scripts/cross-aarch64.sh [build-dir]      default build dir: build-aarch64
#
# Needs (Debian 12): g++-aarch64-linux-gnu qemu-user libpcre2-dev:arm64 (multiarch), plus the
# host packages of the native build (cmake ninja-build pkg-config, the header-only libraries).
# Run as root with missing packages, it installs them; MOECPU_CROSS_NO_INSTALL=1 forbids that.
# Tests see MOECPU_TEST_EMULATED=1 (set by the toolchain's qemu command) and may run less work.
# Environment: MOECPU_JOBS (default 2), MOECPU_CROSS_TEST_TIMEOUT (seconds per test, 1200).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$repo_root/build-aarch64}
jobs=${MOECPU_JOBS:-2}
test_timeout=${MOECPU_CROSS_TEST_TIMEOUT:-1200}  # seconds per test executable under qemu

missing_packages() {
  command -v aarch64-linux-gnu-g++ >/dev/null || echo g++-aarch64-linux-gnu
  command -v qemu-aarch64 >/dev/null || echo qemu-user
  [[ -e /usr/lib/aarch64-linux-gnu/pkgconfig/libpcre2-8.pc ]] || echo libpcre2-dev:arm64
}

install_missing() {
  local missing
  missing=$(missing_packages)
  [[ -z $missing ]] && return 0
  if [[ ${MOECPU_CROSS_NO_INSTALL:-0} == 1 || $(id -u) != 0 ]]; then
    echo "cross-aarch64: missing packages: $missing" >&2
    exit 1
  fi
  echo "cross-aarch64: installing $missing"
  dpkg --add-architecture arm64
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
}

# run_tests_on_cpu CPU [ctest args...]
run_tests_on_cpu() {
  local cpu=$1
  shift
  echo "== ctest under qemu-aarch64 -cpu $cpu $*"
  cmake "$build_dir" -DMOECPU_QEMU_CPU="$cpu" >/dev/null
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout "$test_timeout" "$@"
}

install_missing

start=$SECONDS
cmake -S "$repo_root" -B "$build_dir" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$repo_root/cmake/toolchain-aarch64.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DMOECPU_BLAS=OFF -DMOECPU_BUILD_EXAMPLES=OFF -DMOECPU_BUILD_TESTS=ON
cmake --build "$build_dir" -j "$jobs"
echo "cross-aarch64: build took $((SECONDS - start)) s"

status=0
# Everything on the richest core; on the plain armv8-a core the tests whose outcome depends on
# the kernel table (names containing "kernel"; MOECPU_CROSS_A53_TESTS overrides the regex).
run_tests_on_cpu max || status=1
run_tests_on_cpu cortex-a53 -R "${MOECPU_CROSS_A53_TESTS:-kernel}" || status=1
# Leave the build dir on the default model so a plain `ctest` there tests the dotprod path.
cmake "$build_dir" -DMOECPU_QEMU_CPU=max >/dev/null
echo "cross-aarch64: total $((SECONDS - start)) s, status $status"
exit $status
