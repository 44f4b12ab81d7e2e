// DeepSeek-V2 / V2-Lite / V3 / R1 hyper-parameters read from a Hugging Face config.json
// (`DeepseekV2ForCausalLM`, `DeepseekV3ForCausalLM`), checked for consistency before any tensor
// is touched. Absent optional keys get the defaults DeepSeek's own modeling code uses.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace moecpu::convert {

class HfCheckpoint;

struct YarnScaling {
    double factor = 1.0;
    int64_t original_context_length = 0;
    std::optional<double> beta_fast, beta_slow;
    std::optional<double> mscale_all_dim;
    std::optional<double> extrapolation_factor, attention_factor;
};

struct Deepseek2HParams {
    std::string hf_architecture;  // "DeepseekV3ForCausalLM"
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;      // dense layers
    int64_t moe_intermediate_size = 0;  // one routed / shared expert
    int64_t n_layer = 0;                // num_hidden_layers (MTP layers excluded)
    int64_t n_nextn_layer = 0;          // num_nextn_predict_layers (MTP, skipped)
    int64_t n_head = 0;
    int64_t q_lora_rank = 0;  // 0: no q-LoRA, a direct q_proj (V2-Lite)
    int64_t kv_lora_rank = 0;
    int64_t qk_nope_head_dim = 0;
    int64_t qk_rope_head_dim = 0;
    int64_t v_head_dim = 0;
    int64_t n_routed_experts = 0;
    int64_t n_shared_experts = 0;
    int64_t n_experts_used = 0;
    int64_t first_k_dense_replace = 0;
    std::optional<int64_t> n_group, topk_group;
    int64_t context_length = 0;
    double rope_theta = 10000.0;
    double rms_norm_eps = 1e-6;
    std::optional<double> routed_scaling_factor;
    bool norm_topk_prob = false;
    std::string scoring_func = "softmax";  // "softmax" (V2) or "sigmoid" (V3)
    bool scoring_func_given = false;
    std::string topk_method;               // "greedy", "group_limited_greedy", "noaux_tc"
    bool tie_word_embeddings = false;
    std::optional<YarnScaling> yarn;

    bool is_moe_layer(int64_t layer) const { return n_routed_experts > 0 && layer >= first_k_dense_replace; }
    int64_t q_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
};

// Throws Error naming config.json: UNSUPPORTED for another architecture or a feature this
// converter does not handle (moe_layer_freq != 1, a RoPE scaling other than yarn), BAD_FORMAT for
// a missing or inconsistent key.
Deepseek2HParams read_deepseek2_hparams(const HfCheckpoint& ckpt);

}  // namespace moecpu::convert
