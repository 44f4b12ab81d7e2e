#!/usr/bin/env bash
# Installs everything moecpu needs from Debian 12 packages. Idempotent and non-interactive.
#
#   sudo scripts/install-deps.sh          # native build, tests and tools
#   sudo scripts/install-deps.sh --all    # + what CI also needs: clang/libFuzzer (fuzzing),
#                                         #   the aarch64 cross compiler, qemu-user and the arm64
#                                         #   libpcre2 (Debian multiarch: adds the arm64 architecture)
#
# Every package name below was checked with `apt-cache policy` on Debian 12 (bookworm).
set -euo pipefail

# Native build + test suite + command-line tools.
BASE_PACKAGES=(
  cmake ninja-build g++ pkg-config binutils   # toolchain (binutils: nm for the install test)
  libopenblas-dev libdnnl-dev                 # dense GEMMs (MOECPU_BLAS=ON)
  xtl-dev libxsimd-dev                        # portable SIMD helpers
  nlohmann-json3-dev libpcre2-dev             # JSON (tokenizer.json, config.json), tokenizer regexes
  catch2 libsimde-dev                         # tests (Catch2 v2; SIMDe runs other ISAs' kernels)
  libcxxopts-dev                              # command-line tools
)
# Extra packages for the full CI run (fuzzing and the aarch64 cross build under qemu).
CI_PACKAGES=(
  clang libclang-rt-14-dev                    # libFuzzer + sanitizer runtimes for clang
  g++-aarch64-linux-gnu qemu-user             # aarch64 cross build, run under qemu
  libpcre2-dev:arm64                          # the one compiled dependency of the cross build
)

packages=("${BASE_PACKAGES[@]}")
want_arm64=0
for arg in "$@"; do
  case "$arg" in
    --all|--ci) packages+=("${CI_PACKAGES[@]}"); want_arm64=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-deps.sh: run as root (or install sudo)" >&2; exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$want_arm64" = 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${SUDO[@]}" dpkg --add-architecture arm64
fi
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q "${packages[@]}"
