// The synthetic V2-Lite-style checkpoint (see synthetic_checkpoint.h).
#include "synthetic_checkpoint.h"

#include <filesystem>
#include <functional>

#include "convert_test_util.h"
#include "quant/fp16.h"

namespace moecpu::test {

float SyntheticV2::value(const std::string& name, int64_t i) {
    const uint64_t h = std::hash<std::string>{}(name);
    const int64_t k = static_cast<int64_t>((h + static_cast<uint64_t>(i) * 2654435761u) % 1000u);
    return static_cast<float>(k - 500) / 128.0f;  // exact in F16
}

nlohmann::json SyntheticV2::config() {
    using S = SyntheticV2;
    return {
        {"architectures", {"DeepseekV2ForCausalLM"}},
        {"model_type", "deepseek_v2"},
        {"vocab_size", S::kVocab},
        {"hidden_size", S::kHidden},
        {"intermediate_size", S::kInter},
        {"moe_intermediate_size", S::kMoeInter},
        {"num_hidden_layers", S::kLayers},
        {"num_nextn_predict_layers", 1},
        {"num_attention_heads", S::kHeads},
        {"num_key_value_heads", S::kHeads},
        {"q_lora_rank", nullptr},
        {"kv_lora_rank", S::kKvLora},
        {"qk_nope_head_dim", S::kNope},
        {"qk_rope_head_dim", S::kRope},
        {"v_head_dim", S::kV},
        {"n_routed_experts", S::kExperts},
        {"n_shared_experts", S::kShared},
        {"num_experts_per_tok", 2},
        {"first_k_dense_replace", 1},
        {"moe_layer_freq", 1},
        {"n_group", 1},
        {"topk_group", 1},
        {"topk_method", "greedy"},
        {"scoring_func", "softmax"},
        {"norm_topk_prob", false},
        {"routed_scaling_factor", 1.0},
        {"max_position_embeddings", 163840},
        {"rope_theta", 10000},
        {"rms_norm_eps", 1e-6},
        {"rope_scaling",
         {{"type", "yarn"}, {"factor", 40}, {"original_max_position_embeddings", 4096}, {"beta_fast", 32},
          {"beta_slow", 1}, {"mscale", 0.707}, {"mscale_all_dim", 0.707}}},
        {"tie_word_embeddings", false},
        {"bos_token_id", 0},
        {"eos_token_id", 1},
    };
}

namespace {

StTensor make(const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    StTensor t{name, shape.size() == 1 ? "F32" : "F16", shape, {}};
    if (shape.size() == 1) {
        std::vector<float> v(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) v[i] = SyntheticV2::value(name, i);
        t.bytes = as_bytes(v);
    } else {
        std::vector<uint16_t> v(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) v[i] = fp32_to_fp16(SyntheticV2::value(name, i));
        t.bytes = as_bytes(v);
    }
    return t;
}

}  // namespace

void write_synthetic_v2(const std::string& dir, const nlohmann::json& config) {
    using S = SyntheticV2;
    const int64_t H = S::kHidden;
    std::vector<StTensor> shard1, shard2;
    shard1.push_back(make("model.embed_tokens.weight", {S::kVocab, H}));
    for (int64_t il = 0; il < S::kLayers; ++il) {
        auto& out = il == 0 ? shard1 : shard2;
        const std::string p = "model.layers." + std::to_string(il) + ".";
        out.push_back(make(p + "input_layernorm.weight", {H}));
        out.push_back(make(p + "self_attn.q_proj.weight", {S::kHeads * (S::kNope + S::kRope), H}));
        out.push_back(make(p + "self_attn.kv_a_proj_with_mqa.weight", {S::kKvLora + S::kRope, H}));
        out.push_back(make(p + "self_attn.kv_a_layernorm.weight", {S::kKvLora}));
        out.push_back(make(p + "self_attn.kv_b_proj.weight", {S::kHeads * (S::kNope + S::kV), S::kKvLora}));
        out.push_back(make(p + "self_attn.o_proj.weight", {H, S::kHeads * S::kV}));
        out.push_back(make(p + "post_attention_layernorm.weight", {H}));
        if (il == 0) {
            out.push_back(make(p + "mlp.gate_proj.weight", {S::kInter, H}));
            out.push_back(make(p + "mlp.up_proj.weight", {S::kInter, H}));
            out.push_back(make(p + "mlp.down_proj.weight", {H, S::kInter}));
            continue;
        }
        out.push_back(make(p + "mlp.gate.weight", {S::kExperts, H}));
        for (int64_t e = 0; e < S::kExperts; ++e) {
            const std::string q = p + "mlp.experts." + std::to_string(e) + ".";
            out.push_back(make(q + "gate_proj.weight", {S::kMoeInter, H}));
            out.push_back(make(q + "up_proj.weight", {S::kMoeInter, H}));
            out.push_back(make(q + "down_proj.weight", {H, S::kMoeInter}));
        }
        const int64_t F = S::kShared * S::kMoeInter;
        out.push_back(make(p + "mlp.shared_experts.gate_proj.weight", {F, H}));
        out.push_back(make(p + "mlp.shared_experts.up_proj.weight", {F, H}));
        out.push_back(make(p + "mlp.shared_experts.down_proj.weight", {H, F}));
    }
    // An MTP layer (index == num_hidden_layers): present in the checkpoint, skipped by the converter.
    shard2.push_back(make("model.layers.2.enorm.weight", {H}));
    shard2.push_back(make("model.layers.2.eh_proj.weight", {H, 2 * H}));
    shard2.push_back(make("model.norm.weight", {H}));
    shard2.push_back(make("lm_head.weight", {S::kVocab, H}));

    const std::string f1 = "model-00001-of-00002.safetensors", f2 = "model-00002-of-00002.safetensors";
    write_file(dir + "/" + f1, build_safetensors(shard1));
    write_file(dir + "/" + f2, build_safetensors(shard2));
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
    for (const auto& t : shard1) index["weight_map"][t.name] = f1;
    for (const auto& t : shard2) index["weight_map"][t.name] = f2;
    write_text(dir + "/model.safetensors.index.json", index.dump(1));
    write_text(dir + "/config.json", config.dump(1));
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        std::filesystem::copy_file(data_dir() + "/tiny-ds3/" + f, dir + "/" + f);
    }
}

}  // namespace moecpu::test
