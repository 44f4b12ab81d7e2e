// MLA attention of one token in the absorbed form (decode, and batches too small for the
// non-absorbed prefill form): the queries are already mapped into the latent space (q_abs =
// k_b · q_nope per head), so scores are products with the cached latents and rope keys, and the
// output is a probability-weighted sum of the cached latents per head, mapped back through v_b
// by the caller. The cache rows serve every head at once (MQA-like), so each product is a GEMM
// with the heads as one side: at a depth of thousands of tokens they, not the weights, dominate
// a decode step.
#pragma once
#include <cstdint>

#include "lib/src/linear.h"
#include "models/deepseek2_prefill_attention.h"  // MlaDims

namespace moecpu {

struct MlaDecodeArgs {
    MlaDims dims;
    const float* q_abs = nullptr;  // [n_head][kv_lora]
    const float* q_pe = nullptr;   // head h's rotated rope query at q_pe + h * q_pe_stride
    int64_t q_pe_stride = 0;
    const float* ckv = nullptr;    // [n_kv][kv_lora] cached normalised latents
    const float* kpe = nullptr;    // [n_kv][qk_rope] cached rotated rope keys
    int64_t n_kv = 0;              // positions this token sees (itself included)
    float kq_scale = 1.0f;
    float* scores = nullptr;       // scratch [2][n_head][scores_stride], scores_stride >= n_kv
    int64_t scores_stride = 0;
    float* latent = nullptr;       // out [n_head][kv_lora]
    LinearScratch scratch;         // activation scratch of linear() for n_head columns
};

void mla_decode_attention(const MlaDecodeArgs& a, int n_threads);

}  // namespace moecpu
