// Named type mixes for --type.
//
// llama.cpp's K-quant presets (Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M), with the rules its
// quantizer (src/llama-quant.cpp, llama_tensor_get_type) applies to a deepseek2 model: the
// output head in Q6_K, down projections (dense, shared and routed alike) and attn_output a step
// higher in some presets, the rest in the preset's base type. Spelled exactly in upper case, so
// that lower-case `q2_k` stays the single type (every tensor in q2_K).
//
// MoE-aware presets (MOE_Q2_K, MOE_Q3_K, MOE_Q4_K; any case) choose the routed-expert type on
// its own: gate/up experts in the named type, down experts one step higher, and everything that
// every token uses (attention, shared experts, dense layers, embedding, output) at 6-8 bits —
// those weights are a few percent of a DeepSeek-V3 but carry all of its traffic.
#pragma once
#include <memory>
#include <string>

#include "examples/quantize/tensor_type_policy.h"

namespace moecpu::convert {

// Null when `name` is no preset.
std::unique_ptr<TensorTypePolicy> make_preset_policy(const std::string& name);

// "Q2_K, Q3_K_S, ..., MOE_Q4_K" for help and error messages.
std::string preset_names();

}  // namespace moecpu::convert
