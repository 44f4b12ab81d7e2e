#include "examples/synth/synth_arch.h"

#include <algorithm>

#include "lib/src/error.h"

namespace moecpu::synth {

std::vector<std::string> preset_names() { return {"deepseek-v3", "deepseek-v2-lite", "kimi-k2"}; }

SynthSpec preset(const std::string& name) {
    SynthSpec s;
    s.arch = name;
    if (name == "deepseek-v3" || name == "deepseek-r1") {
        // deepseek-ai/DeepSeek-V3 config.json (R1 has the same shapes).
        s.n_vocab = 129280; s.n_embd = 7168; s.n_layer = 61; s.n_head = 128;
        s.n_ff = 18432; s.n_ff_exp = 2048;
        s.n_expert = 256; s.n_expert_used = 8; s.n_expert_shared = 1; s.n_leading_dense = 3;
        s.q_lora_rank = 1536; s.kv_lora_rank = 512; s.qk_nope = 128; s.qk_rope = 64; s.v_head = 128;
        s.n_group = 8; s.n_group_used = 4;
        s.n_ctx_train = 163840; s.rope_base = 10000.0f; s.rms_eps = 1e-6f;
        s.expert_weights_scale = 2.5f; s.expert_weights_norm = true; s.sigmoid_gating = true;
        s.yarn_factor = 40.0f; s.yarn_orig_ctx = 4096; s.yarn_mscale_all_dim = 1.0f;
    } else if (name == "deepseek-v2-lite") {
        // deepseek-ai/DeepSeek-V2-Lite config.json: no q-LoRA, softmax gating, no groups.
        s.n_vocab = 102400; s.n_embd = 2048; s.n_layer = 27; s.n_head = 16;
        s.n_ff = 10944; s.n_ff_exp = 1408;
        s.n_expert = 64; s.n_expert_used = 6; s.n_expert_shared = 2; s.n_leading_dense = 1;
        s.q_lora_rank = 0; s.kv_lora_rank = 512; s.qk_nope = 128; s.qk_rope = 64; s.v_head = 128;
        s.n_group = 1; s.n_group_used = 1;
        s.n_ctx_train = 163840; s.rope_base = 10000.0f; s.rms_eps = 1e-6f;
        s.expert_weights_scale = 1.0f; s.expert_weights_norm = false; s.sigmoid_gating = false;
        s.yarn_factor = 40.0f; s.yarn_orig_ctx = 4096; s.yarn_mscale_all_dim = 0.707f;
    } else if (name == "kimi-k2") {
        // moonshotai/Kimi-K2-Instruct config.json: DeepSeek-V3 layout, 384 experts, 64 heads.
        s.n_vocab = 163840; s.n_embd = 7168; s.n_layer = 61; s.n_head = 64;
        s.n_ff = 18432; s.n_ff_exp = 2048;
        s.n_expert = 384; s.n_expert_used = 8; s.n_expert_shared = 1; s.n_leading_dense = 1;
        s.q_lora_rank = 1536; s.kv_lora_rank = 512; s.qk_nope = 128; s.qk_rope = 64; s.v_head = 128;
        s.n_group = 1; s.n_group_used = 1;
        s.n_ctx_train = 131072; s.rope_base = 50000.0f; s.rms_eps = 1e-6f;
        s.expert_weights_scale = 2.827f; s.expert_weights_norm = true; s.sigmoid_gating = true;
        s.yarn_factor = 32.0f; s.yarn_orig_ctx = 4096; s.yarn_mscale_all_dim = 1.0f;
    } else {
        std::string known;
        for (const std::string& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
        fail(MOECPU_ERR_INVALID_ARGUMENT, "unknown architecture '" + name + "' (known: " + known + ")");
    }
    return s;
}

void apply_overrides(SynthSpec& s, const SynthOverrides& o, std::vector<std::string>& notes) {
    auto positive = [](int64_t v, const char* what) {
        if (v <= 0) fail(MOECPU_ERR_INVALID_ARGUMENT, std::string(what) + " must be positive");
    };
    if (o.n_layer >= 0) positive(s.n_layer = o.n_layer, "--layers");
    if (o.n_expert >= 0) positive(s.n_expert = o.n_expert, "--experts");
    if (o.n_embd >= 0) positive(s.n_embd = o.n_embd, "--n-embd");
    if (o.n_ff_exp >= 0) positive(s.n_ff_exp = o.n_ff_exp, "--expert-ff");
    if (o.n_ff >= 0) positive(s.n_ff = o.n_ff, "--dense-ff");
    if (o.n_vocab >= 0) positive(s.n_vocab = o.n_vocab, "--vocab");
    if (o.n_head >= 0) positive(s.n_head = o.n_head, "--heads");
    if (o.n_leading_dense >= 0) s.n_leading_dense = o.n_leading_dense;
    if (s.n_leading_dense > s.n_layer) {
        notes.push_back("leading dense layers reduced from " + std::to_string(s.n_leading_dense) + " to " +
                        std::to_string(s.n_layer) + " (the layer count)");
        s.n_leading_dense = s.n_layer;
    }
    if (s.n_expert_used > s.n_expert) {
        notes.push_back("experts used per token reduced from " + std::to_string(s.n_expert_used) + " to " +
                        std::to_string(s.n_expert));
        s.n_expert_used = s.n_expert;
    }
    // Expert groups must divide the experts and the kept groups must hold enough experts.
    const int64_t g0 = s.n_group, gu0 = s.n_group_used;
    while (s.n_group > 1 &&
           (s.n_expert % s.n_group != 0 || s.n_expert_used > s.n_group_used * (s.n_expert / s.n_group))) {
        s.n_group /= 2;
        s.n_group_used = std::max<int64_t>(1, std::min(s.n_group_used, s.n_group));
    }
    if (s.n_group != g0 || s.n_group_used != gu0)
        notes.push_back("expert groups changed from " + std::to_string(g0) + " (keep " + std::to_string(gu0) + ") to " +
                        std::to_string(s.n_group) + " (keep " + std::to_string(s.n_group_used) + ") to fit " +
                        std::to_string(s.n_expert) + " experts");
    if (s.n_vocab < 300) fail(MOECPU_ERR_INVALID_ARGUMENT, "--vocab must be at least 300 (256 byte tokens + specials)");
}

}  // namespace moecpu::synth
