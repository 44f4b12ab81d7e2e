// Architecture presets for moe-synth: the hyper-parameters of published DeepSeek-family
// checkpoints (from their config.json), plus the overrides the tool accepts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/ggml_types.h"

namespace moecpu::synth {

// Everything needed to write a `deepseek2` GGUF file with the shapes of one architecture.
struct SynthSpec {
    std::string arch;  // preset name, e.g. "deepseek-v3"
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0;
    int64_t n_ff = 0;          // dense FFN width (leading layers)
    int64_t n_ff_exp = 0;      // one routed expert's FFN width
    int64_t n_expert = 0, n_expert_used = 0, n_expert_shared = 0, n_leading_dense = 0;
    int64_t q_lora_rank = 0;   // 0: direct q projection (V2-Lite)
    int64_t kv_lora_rank = 0, qk_nope = 0, qk_rope = 0, v_head = 0;
    int64_t n_group = 1, n_group_used = 1;
    int64_t n_ctx_train = 4096;
    float rms_eps = 1e-6f, rope_base = 10000.0f;
    float expert_weights_scale = 1.0f;
    bool expert_weights_norm = false;
    bool sigmoid_gating = false;
    float yarn_factor = 1.0f;           // > 1: YaRN keys are written
    int64_t yarn_orig_ctx = 4096;
    float yarn_mscale_all_dim = 0.0f;   // written as yarn_log_multiplier = 0.1 * this

    GgmlType type = GgmlType::Q2_K;     // expert and other big tensors
    uint64_t seed = 1;
};

// Names accepted by preset(): "deepseek-v3" (also R1), "deepseek-v2-lite", "kimi-k2".
std::vector<std::string> preset_names();
// Throws moecpu::Error(INVALID_ARGUMENT) for an unknown name.
SynthSpec preset(const std::string& name);

// Optional overrides; -1 keeps the preset's value.
struct SynthOverrides {
    int64_t n_layer = -1, n_expert = -1, n_leading_dense = -1;
    int64_t n_embd = -1, n_ff_exp = -1, n_ff = -1, n_vocab = -1, n_head = -1;
};

// Applies the overrides and repairs what they make inconsistent (expert groups that no longer
// divide the experts, more experts used than exist). Each repair is appended to `notes`.
// Throws Error(INVALID_ARGUMENT) for values that cannot be repaired.
void apply_overrides(SynthSpec& spec, const SynthOverrides& o, std::vector<std::string>& notes);

}  // namespace moecpu::synth
