#!/usr/bin/env bash
# Side-by-side speed and peak memory of moecpu (moe-bench -m) and llama.cpp (llama-bench) on the
# same GGUF files, thread counts and test sizes; prints one Markdown table.
#
#   LLAMA_BENCH=/path/to/llama-bench scripts/bench-vs-llamacpp.sh [options] MODEL.gguf...
#     -p N   prompt tokens (default 512)      -n N   generated tokens (default 64)
#     -r N   repetitions (default 3)          -t L   thread counts, comma-separated (default 1,2)
#     -b DIR moecpu build directory (default ./build)
#
# llama-bench is not built here: bring your own build of llama.cpp's CPU backend. Both tools run
# their pp and tg tests from an empty context, so the numbers compare directly. Run it on a quiet
# machine; BENCH_PREFIX (e.g. "chrt -f 10") is put in front of every timed command. Peak RSS comes
# from GNU time for llama-bench and from moe-bench's own report (taken before it measures the memory
# bandwidth with a 1 GiB buffer) for moecpu: llama.cpp populates the whole mapping and
# may keep repacked copies of weights; moecpu only maps what the chosen experts touch.
# "tg % of bw": weight bytes read per generated token (moecpu's count for the file, the same for
# both tools) × tokens/s ÷ the read bandwidth measured right after that tool's run (moe-bench
# --bandwidth for llama.cpp), since the host's bandwidth drifts from minute to minute.
# Needs python3 (to read both tools' JSON) besides the two benchmarks.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
P=512 N=64 R=3 THREADS=1,2 BUILD_DIR=$ROOT/build
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while getopts "p:n:r:t:b:h" opt; do
  case $opt in
    p) P=$OPTARG ;; n) N=$OPTARG ;; r) R=$OPTARG ;; t) THREADS=$OPTARG ;; b) BUILD_DIR=$OPTARG ;;
    h) usage; exit 0 ;; *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
: "${LLAMA_BENCH:?set LLAMA_BENCH to a llama-bench binary}"
[ -x "$LLAMA_BENCH" ] || { echo "bench-vs-llamacpp: '$LLAMA_BENCH' is not an executable" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench-vs-llamacpp: python3 is missing (apt-get install python3)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-vs-llamacpp: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
MOE_BENCH=$(find "$BUILD_DIR/examples" -type f -name moe-bench -perm -u+x | head -n1)
[ -n "$MOE_BENCH" ] || { echo "bench-vs-llamacpp: no moe-bench under $BUILD_DIR" >&2; exit 1; }
read -r -a PREFIX <<<"${BENCH_PREFIX:-}"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Runs a command under GNU time; stdout to $TMP/out, peak RSS (KiB) to $TMP/rss.
measure() { "${PREFIX[@]}" /usr/bin/time -f %M -o "$TMP/rss" "$@" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }; }

printf '| model | threads | pp%s moecpu | pp%s llama.cpp | pp ratio | tg%s moecpu | tg%s llama.cpp | tg ratio | tg %% of bw moecpu | tg %% of bw llama.cpp | peak RSS moecpu | peak RSS llama.cpp |\n' "$P" "$P" "$N" "$N"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for model in "$@"; do
  [ -f "$model" ] || { echo "bench-vs-llamacpp: no such file '$model'" >&2; exit 1; }
  for t in ${THREADS//,/ }; do
    measure "$MOE_BENCH" -m "$model" -p "$P" -n "$N" -r "$R" -t "$t" --json
    read -r m_pp m_tg m_bw m_rss m_bytes < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["pp_tokens_per_s"], j["tg_tokens_per_s"], 100*j["bw_fraction"], j["peak_rss_bytes"] // 1024, j["weight_bytes_per_token"])' "$TMP/out")
    measure "$LLAMA_BENCH" -m "$model" -p "$P" -n "$N" -r "$R" -t "$t" -o json
    read -r l_pp l_tg < <(python3 -c '
import json, sys
pp = tg = 0.0
for t in json.load(open(sys.argv[1])):
    if t["n_gen"] == 0: pp = t["avg_ts"]
    else: tg = t["avg_ts"]
print(pp, tg)' "$TMP/out")
    l_rss=$(cat "$TMP/rss")
    # The host's bandwidth drifts, so llama.cpp's share is taken against a measurement made
    # right after its run (moe-bench's own run measures its share the same way).
    "${PREFIX[@]}" "$MOE_BENCH" --bandwidth -t "$t" --json >"$TMP/bw"
    l_bw=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(100 * float(sys.argv[2]) * float(sys.argv[3]) / 1e9 / j["read_bandwidth_gbps"])' "$TMP/bw" "$l_tg" "$m_bytes")
    python3 -c '
import sys
name, t, mpp, lpp, mtg, ltg, mbw, lbw, mrss, lrss = sys.argv[1:]
mpp, lpp, mtg, ltg, mbw, lbw = map(float, (mpp, lpp, mtg, ltg, mbw, lbw))
ratio = lambda a, b: f"{a / b:.2f}x" if b > 0 else "-"
print(f"| {name} | {t} | {mpp:.1f} t/s | {lpp:.1f} t/s | {ratio(mpp, lpp)} | {mtg:.2f} t/s | {ltg:.2f} t/s | {ratio(mtg, ltg)} "
      f"| {mbw:.1f} % | {lbw:.1f} % | {int(mrss) / 1024:.0f} MiB | {int(lrss) / 1024:.0f} MiB |")' \
      "$(basename "$model")" "$t" "$m_pp" "$l_pp" "$m_tg" "$l_tg" "$m_bw" "$l_bw" "$m_rss" "$l_rss"
  done
done
