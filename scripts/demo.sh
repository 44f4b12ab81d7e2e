#!/usr/bin/env bash
# The README's "main job" on an embedded default: installs the Debian packages, builds the tools
# (Release, ./build), converts the tiny DeepSeek-V3-style checkpoint shipped with the tests
# (Hugging Face safetensors, BF16) to GGUF, quantizes its experts to 3 bits (MOE_Q3_K), inspects the
# file, generates text from it and measures what the quantization cost (KL divergence vs bf16).
# Then prints the CPU's kernel set and, when built, a quick kernel benchmark.
#
#   scripts/demo.sh [BUILD_DIR]         (run as root, or with sudo available, for the packages)
# Environment: SKIP_DEPS=1 skips the package step; MODEL_DIR=<HF checkpoint dir> converts another
# DeepSeek-V2/V3/R1 checkpoint instead; PROMPT, N_PREDICT change the generation.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}
PROMPT=${PROMPT:-"The following options are supported:"}
N_PREDICT=${N_PREDICT:-24}

say() { printf '\n==> %s\n' "$*"; }

if [ -z "${MODEL_DIR:-}" ]; then
  for d in "$ROOT/tests/data/tiny-ds3" "$ROOT/../shared/models/tiny-ds3"; do
    if [ -f "$d/config.json" ]; then MODEL_DIR=$d; break; fi
  done
fi
if [ -z "${MODEL_DIR:-}" ]; then
  echo "demo.sh: the tiny checkpoint (tests/data/tiny-ds3) is missing; set MODEL_DIR" >&2
  exit 1
fi

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  say "Installing Debian packages"
  if [ "$(id -u)" -eq 0 ]; then "$ROOT/scripts/install-deps.sh"; else sudo "$ROOT/scripts/install-deps.sh"; fi
fi

say "Building the tools (Release) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --parallel "$JOBS" --target moe-quantize moe-inspect moe-cli moe-perplexity
bin() { find "$BUILD_DIR/examples" -type f -name "$1" -perm -u+x | head -n1; }

NAME=$(basename "$MODEL_DIR")
BASE="$BUILD_DIR/demo/$NAME-bf16.gguf"
GGUF="$BUILD_DIR/demo/$NAME-moe_q3_k.gguf"
mkdir -p "$(dirname "$GGUF")"
say "moe-quantize: convert $MODEL_DIR -> $BASE (lossless bf16)"
"$(bin moe-quantize)" --in "$MODEL_DIR" --out "$BASE" --type bf16 --no-progress
say "moe-quantize: $BASE -> $GGUF (MOE_Q3_K: routed experts q3_K, their down projections q4_K, the rest q6_K)"
"$(bin moe-quantize)" --in "$BASE" --out "$GGUF" --type MOE_Q3_K --no-progress

say "moe-inspect $GGUF"
# head closes the pipe early: the SIGPIPE that ends moe-inspect then is not a failure.
{ "$(bin moe-inspect)" "$GGUF" --max-array 4 || true; } | head -n 60

say "moe-cli: greedy continuation of \"$PROMPT\""
"$(bin moe-cli)" -m "$GGUF" -p "$PROMPT" -n "$N_PREDICT" --temp 0

if [ -f "$ROOT/tests/data/text/apache-2.0.txt" ]; then
  say "moe-perplexity: what the 3-bit experts cost against the bf16 model"
  "$(bin moe-perplexity)" -m "$GGUF" -f "$ROOT/tests/data/text/apache-2.0.txt" -c 128 --chunks 8 --kld-base "$BASE"
fi

say "moe-inspect --cpu   (CPU features and the kernel set this machine gets)"
"$(bin moe-inspect)" --cpu

# The benchmark is an extra: the demo goes on without it.
if cmake --build "$BUILD_DIR" --parallel "$JOBS" --target moe-bench >"$BUILD_DIR/demo/moe-bench-build.log" 2>&1; then
  say "moe-bench --kernels --quick   (quantized matmul kernels on this CPU)"
  "$(bin moe-bench)" --kernels --quick
else
  say "moe-bench did not build (see $BUILD_DIR/demo/moe-bench-build.log): benchmark skipped"
fi

say "Done. The model is $GGUF; chat with it: $(bin moe-cli) -m $GGUF --chat"
