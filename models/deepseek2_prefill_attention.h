// MLA attention of a batch of new tokens in the non-absorbed form: per head, the cached latents
// are decompressed into keys (k_nope = W_kb c_kv, next to the cached rotated k_pe) and values
// (v = W_vb c_kv), then standard attention runs over key tiles with an online softmax, so memory
// stays bounded by the tile (no n_kv x n_kv score matrix). It pays off for batches (prefill);
// decode keeps the absorbed form (deepseek2_forward.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/src/weight_view.h"

namespace moecpu {

struct MlaDims {
    int64_t n_head = 0, kv_lora = 0, qk_nope = 0, qk_rope = 0, v_head = 0;
    int64_t qk_head() const { return qk_nope + qk_rope; }
};

// True when the non-absorbed form is expected to be faster for a batch of n_tokens (any cache
// length: both forms' costs grow with it alike).
bool mla_prefill_pays_off(const MlaDims& d, int64_t n_tokens);

// Floats of per-thread scratch for batches of up to n_batch tokens.
size_t mla_prefill_scratch_floats(const MlaDims& d, int64_t n_batch);

struct MlaPrefillArgs {
    MlaDims dims;
    const float* q = nullptr;     // [n][n_head][qk_nope | qk_rope], rope already applied
    const float* ckv = nullptr;   // [pos0 + n][kv_lora] normalised latents (new tokens included)
    const float* kpe = nullptr;   // [pos0 + n][qk_rope] rotated shared rope keys
    WeightView k_b;               // per head [kv_lora rows][qk_nope cols]
    WeightView v_b;               // per head [v_head rows][kv_lora cols]
    int64_t n = 0, pos0 = 0;      // new tokens at positions pos0 .. pos0+n-1 (causal)
    float kq_scale = 1.0f;
    float* out = nullptr;         // [n][n_head * v_head]
    float* scratch = nullptr;     // [n_scratch_threads][mla_prefill_scratch_floats()]
    int n_scratch_threads = 1;    // the team is capped to this
};

void mla_prefill_attention(const MlaPrefillArgs& a, int n_threads);

}  // namespace moecpu
