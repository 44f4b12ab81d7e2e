// config.json -> Deepseek2HParams (see deepseek2_hparams.h).
#include "examples/quantize/deepseek2_hparams.h"

#include "examples/quantize/hf_checkpoint.h"
#include "lib/src/error.h"

namespace moecpu::convert {

namespace {

using json = nlohmann::json;

std::optional<double> number_in(const json& obj, const char* key, const std::string& where) {
    if (!obj.contains(key) || obj[key].is_null()) return std::nullopt;
    if (!obj[key].is_number()) fail(MOECPU_ERR_BAD_FORMAT, where + ": '" + key + "' is not a number");
    return obj[key].get<double>();
}

}  // namespace

Deepseek2HParams read_deepseek2_hparams(const HfCheckpoint& c) {
    const std::string cfg = "'" + c.config_path() + "'";
    Deepseek2HParams hp;

    const json& conf = c.config();
    if (!conf.contains("architectures") || !conf["architectures"].is_array() || conf["architectures"].empty() ||
        !conf["architectures"][0].is_string()) {
        fail(MOECPU_ERR_BAD_FORMAT, cfg + " has no 'architectures' list");
    }
    hp.hf_architecture = conf["architectures"][0].get<std::string>();
    if (hp.hf_architecture != "DeepseekV2ForCausalLM" && hp.hf_architecture != "DeepseekV3ForCausalLM") {
        fail(MOECPU_ERR_UNSUPPORTED, cfg + ": architecture '" + hp.hf_architecture +
                                         "' is not supported (DeepseekV2ForCausalLM and DeepseekV3ForCausalLM are)");
    }

    hp.vocab_size = c.get_int("vocab_size");
    hp.hidden_size = c.get_int("hidden_size");
    hp.intermediate_size = c.get_int("intermediate_size");
    hp.n_layer = c.get_int("num_hidden_layers");
    hp.n_nextn_layer = c.get_int("num_nextn_predict_layers", 0);
    hp.n_head = c.get_int("num_attention_heads");
    hp.q_lora_rank = c.get_int("q_lora_rank", 0);
    hp.kv_lora_rank = c.get_int("kv_lora_rank");
    hp.qk_nope_head_dim = c.get_int("qk_nope_head_dim");
    hp.qk_rope_head_dim = c.get_int("qk_rope_head_dim");
    hp.v_head_dim = c.get_int("v_head_dim");
    hp.n_routed_experts = c.get_int("n_routed_experts", 0);
    hp.n_shared_experts = c.get_int("n_shared_experts", 0);
    hp.first_k_dense_replace = c.get_int("first_k_dense_replace", hp.n_routed_experts > 0 ? 0 : hp.n_layer);
    hp.n_group = c.find_int("n_group");
    hp.topk_group = c.find_int("topk_group");
    hp.context_length = c.get_int("max_position_embeddings");
    hp.rope_theta = c.get_float("rope_theta", 10000.0);
    hp.rms_norm_eps = c.get_float("rms_norm_eps", 1e-6);
    hp.routed_scaling_factor = c.find_float("routed_scaling_factor");
    hp.norm_topk_prob = c.get_bool("norm_topk_prob", false);
    hp.scoring_func_given = c.has("scoring_func");
    hp.scoring_func = c.get_string("scoring_func", "softmax");
    hp.topk_method = c.get_string("topk_method", "greedy");
    hp.tie_word_embeddings = c.get_bool("tie_word_embeddings", false);

    const auto positive = [&](const char* key, int64_t v) {
        if (v <= 0) fail(MOECPU_ERR_BAD_FORMAT, cfg + ": '" + key + "' must be positive, is " + std::to_string(v));
    };
    positive("vocab_size", hp.vocab_size);
    positive("hidden_size", hp.hidden_size);
    positive("intermediate_size", hp.intermediate_size);
    positive("num_hidden_layers", hp.n_layer);
    positive("num_attention_heads", hp.n_head);
    positive("kv_lora_rank", hp.kv_lora_rank);
    positive("qk_nope_head_dim", hp.qk_nope_head_dim);
    positive("qk_rope_head_dim", hp.qk_rope_head_dim);
    positive("v_head_dim", hp.v_head_dim);
    positive("max_position_embeddings", hp.context_length);
    if (hp.q_lora_rank < 0) fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'q_lora_rank' is negative");
    if (hp.n_nextn_layer < 0) fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'num_nextn_predict_layers' is negative");
    if (hp.first_k_dense_replace < 0 || hp.first_k_dense_replace > hp.n_layer) {
        fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'first_k_dense_replace' is outside 0.." + std::to_string(hp.n_layer));
    }

    if (hp.n_routed_experts > 0) {
        hp.moe_intermediate_size = c.get_int("moe_intermediate_size");
        hp.n_experts_used = c.get_int("num_experts_per_tok");
        positive("moe_intermediate_size", hp.moe_intermediate_size);
        if (hp.n_experts_used <= 0 || hp.n_experts_used > hp.n_routed_experts) {
            fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'num_experts_per_tok' must be in 1..n_routed_experts");
        }
        if (hp.n_shared_experts < 0) fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'n_shared_experts' is negative");
        // llama.cpp's deepseek2 graph treats every layer after the leading dense ones as MoE.
        const int64_t freq = c.get_int("moe_layer_freq", 1);
        if (freq != 1) fail(MOECPU_ERR_UNSUPPORTED, cfg + ": moe_layer_freq " + std::to_string(freq) + " is not supported (only 1)");
        if (hp.n_group && (*hp.n_group <= 0 || hp.n_routed_experts % *hp.n_group != 0)) {
            fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'n_group' must divide n_routed_experts");
        }
        if (hp.topk_group && hp.n_group && (*hp.topk_group <= 0 || *hp.topk_group > *hp.n_group)) {
            fail(MOECPU_ERR_BAD_FORMAT, cfg + ": 'topk_group' must be in 1..n_group");
        }
    } else {
        hp.moe_intermediate_size = c.get_int("moe_intermediate_size", hp.intermediate_size);
    }
    if (hp.scoring_func != "softmax" && hp.scoring_func != "sigmoid") {
        fail(MOECPU_ERR_UNSUPPORTED, cfg + ": scoring_func '" + hp.scoring_func + "' is not supported (softmax, sigmoid)");
    }

    if (const json* rs = c.find_object("rope_scaling")) {
        const std::string where = cfg + " rope_scaling";
        std::string type;
        for (const char* k : {"rope_type", "type"}) {
            if (rs->contains(k) && (*rs)[k].is_string()) {
                type = (*rs)[k].get<std::string>();
                break;
            }
        }
        if (type == "yarn") {
            YarnScaling y;
            auto factor = number_in(*rs, "factor", where);
            auto orig = number_in(*rs, "original_max_position_embeddings", where);
            if (!factor) fail(MOECPU_ERR_BAD_FORMAT, where + " has no 'factor'");
            if (!orig) fail(MOECPU_ERR_BAD_FORMAT, where + " has no 'original_max_position_embeddings'");
            y.factor = *factor;
            y.original_context_length = static_cast<int64_t>(*orig);
            y.beta_fast = number_in(*rs, "beta_fast", where);
            y.beta_slow = number_in(*rs, "beta_slow", where);
            y.mscale_all_dim = number_in(*rs, "mscale_all_dim", where);
            y.extrapolation_factor = number_in(*rs, "extrapolation_factor", where);
            y.attention_factor = number_in(*rs, "attention_factor", where);
            if (!y.attention_factor) y.attention_factor = number_in(*rs, "attn_factor", where);
            hp.yarn = y;
        } else if (!type.empty() && type != "default" && type != "none") {
            fail(MOECPU_ERR_UNSUPPORTED, where + ": type '" + type + "' is not supported (yarn)");
        }
    }
    return hp;
}

}  // namespace moecpu::convert
