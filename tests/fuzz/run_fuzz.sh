#!/usr/bin/env bash
# Builds the GGUF reader fuzz target with clang (libFuzzer + ASan + UBSan) and runs it for a
# bounded time. Exits non-zero when the fuzzer finds a crash, leak or sanitizer error; the
# offending input is left in <build-dir>/fuzz-artifacts/.
#   tests/fuzz/run_fuzz.sh <build-dir> [seconds=60] [extra libFuzzer flags...]
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <build-dir> [seconds] [libFuzzer flags...]" >&2
  exit 2
fi
build_dir=$1
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$here/../.." && pwd)

clangxx=$(command -v clang++ || command -v clang++-14 || true)
clangc=$(command -v clang || command -v clang-14 || true)
if [[ -z $clangxx || -z $clangc ]]; then
  echo "$0: clang is needed for libFuzzer (apt-get install clang)" >&2
  exit 2
fi

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$clangc" -DCMAKE_CXX_COMPILER="$clangxx" \
  -DMOECPU_FUZZ=ON -DMOECPU_BUILD_EXAMPLES=OFF -DMOECPU_BLAS=OFF >/dev/null
ninja -C "$build_dir" fuzz_gguf

# The fuzzer adds interesting inputs to its corpus; keep that out of the source tree.
corpus="$build_dir/fuzz-corpus/gguf"
artifacts="$build_dir/fuzz-artifacts/"
mkdir -p "$corpus" "$artifacts"
cp -n "$here"/corpus/* "$corpus"/ 2>/dev/null || true

"$build_dir/tests/fuzz/fuzz_gguf" "$corpus" \
  -dict="$here/gguf.dict" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts" "$@"
