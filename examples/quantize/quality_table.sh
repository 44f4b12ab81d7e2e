#!/bin/sh
# Quality table of moe-quantize's types and presets on the tiny DeepSeek-V3 fixture:
# size, bits per weight, perplexity and KL divergence against the F32 model (moe-perplexity
# --kld-base), without and with an importance matrix computed from the same text's first chunks.
#
#   examples/quantize/quality_table.sh BUILD_DIR [WORK_DIR]
# Prints a Markdown table on stdout. Single-threaded runs (-t 1): the numbers do not depend on it.
set -eu
build=${1:?usage: quality_table.sh BUILD_DIR [WORK_DIR]}
work=${2:-$(mktemp -d)}
src=$(cd "$(dirname "$0")/../.." && pwd)
quantize=$build/examples/quantize/moe-quantize
imatrix=$build/examples/imatrix/moe-imatrix
ppl=$build/examples/perplexity/moe-perplexity
text=$src/tests/data/text/apache-2.0.txt
ctx=128

"$quantize" --in "$src/tests/data/tiny-ds3" --out "$work/base-f32.gguf" --type f32 --no-progress 2>/dev/null
"$imatrix" -m "$work/base-f32.gguf" -f "$text" -o "$work/imatrix.gguf" -c $ctx --chunks 8 -t 1 2>/dev/null

echo "| type | imatrix | size (KiB) | bpw | perplexity | KL mean | KL p99 | top-1 |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for spec in f32 bf16 q8_0 q6_k Q5_K_M q5_0 Q4_K_M Q4_K_S q4_0 MOE_Q4_K Q3_K_M Q3_K_S MOE_Q3_K Q2_K MOE_Q2_K q2_k \
            Q4_K_M+im Q3_K_M+im MOE_Q3_K+im Q2_K+im MOE_Q2_K+im q2_k+im; do
    type=${spec%+im}
    im=no
    extra=""
    if [ "$spec" != "$type" ]; then im=yes; extra="--imatrix $work/imatrix.gguf"; fi
    out="$work/$spec.gguf"
    # shellcheck disable=SC2086
    "$quantize" --in "$work/base-f32.gguf" --out "$out" --type "$type" $extra --threads 2 --no-progress 2>"$work/$spec.log"
    bpw=$(awk '$1 == "total" { print $4 }' "$work/$spec.log")
    kib=$(( $(stat -c %s "$out") / 1024 ))
    json=$("$ppl" -m "$out" -f "$text" -c $ctx -t 1 --kld-base "$work/base-f32.gguf" --json 2>/dev/null | tail -1)
    python3 - "$spec" "$im" "$kib" "$bpw" "$json" <<'PY'
import json, sys
spec, im, kib, bpw, js = sys.argv[1:]
j = json.loads(js)
print(f"| {spec.removesuffix('+im')} | {im} | {kib} | {bpw} | {j['ppl']:.3f} | {j['kld_mean']:.6f} | {j['kld_p99']:.5f} | {100*j['top1_agreement']:.1f} % |")
PY
done
