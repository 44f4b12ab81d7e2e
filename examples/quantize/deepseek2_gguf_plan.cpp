// HF DeepSeek-V2/V3 -> GGUF deepseek2 mapping (see deepseek2_gguf_plan.h).
#include "examples/quantize/deepseek2_gguf_plan.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <tuple>

#include "examples/quantize/deepseek2_hparams.h"
#include "examples/quantize/hf_checkpoint.h"
#include "examples/quantize/tensor_type_policy.h"
#include "lib/src/error.h"

namespace moecpu::convert {

namespace {

using gguf::Value;

constexpr uint32_t kGgmlQuantVersion = 2;  // GGML_QNT_VERSION
constexpr uint32_t kGatingSoftmax = 1;     // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
constexpr uint32_t kGatingSigmoid = 2;     // LLAMA_EXPERT_GATING_FUNC_TYPE_SIGMOID

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Builds the tensor list while checking sources against the checkpoint.
class Planner {
public:
    Planner(const HfCheckpoint& ckpt, const TensorTypePolicy& policy, int64_t n_layer)
        : ckpt_(ckpt), policy_(policy), n_layer_(n_layer) {}

    // Checks `hf_name` exists, converts to float and has `shape` (PyTorch order).
    void expect(const std::string& hf_name, const std::vector<int64_t>& shape) {
        const safetensors::TensorInfo* t = ckpt_.tensors().find(hf_name);
        if (t == nullptr) {
            fail(MOECPU_ERR_BAD_FORMAT, "checkpoint " + ckpt_.tensors().description() + " has no tensor '" + hf_name +
                                            "', which config.json requires");
        }
        if (t->shape != shape) {
            fail(MOECPU_ERR_BAD_FORMAT, "'" + t->file + "': tensor '" + hf_name + "' has shape " + shape_string(t->shape) +
                                            ", but '" + ckpt_.config_path() + "' implies " + shape_string(shape));
        }
        if (!safetensors::dtype_is_convertible(t->dtype)) {
            fail(MOECPU_ERR_UNSUPPORTED, "'" + t->file + "': tensor '" + hf_name + "' has dtype " +
                                             safetensors::dtype_name(t->dtype) + ", which cannot be converted");
        }
        used_.insert(hf_name);
    }

    // GGUF tensor `name` with ggml shape `ne` (ne[0] = row length).
    PlannedTensor& add(std::string name, std::vector<int64_t> ne, TensorSource source, std::vector<std::string> hf) {
        PlannedTensor p;
        p.name = std::move(name);
        p.n_dims = static_cast<int>(ne.size());
        for (size_t i = 0; i < ne.size(); ++i) p.ne[i] = ne[i];
        p.source = source;
        p.hf_names = std::move(hf);
        p.keep_f32 = llama_cpp_keeps_f32(p.name, p.n_dims);
        TensorTypeRequest req{p.name, p.n_dims, p.ne, p.keep_f32, n_layer_};
        const TypeChoice choice = choose_tensor_type(policy_, req);
        p.type = choice.type;
        p.wanted_type = choice.wanted;
        tensors_.push_back(std::move(p));
        return tensors_.back();
    }

    // A plain copy of a 1-D or 2-D HF tensor of PyTorch shape `shape`.
    void copy(const std::string& gguf_name, const std::string& hf_name, const std::vector<int64_t>& shape) {
        expect(hf_name, shape);
        std::vector<int64_t> ne(shape.rbegin(), shape.rend());
        add(gguf_name, ne, TensorSource::Copy, {hf_name});
    }

    std::vector<PlannedTensor> take() { return std::move(tensors_); }
    const std::set<std::string>& used() const { return used_; }

private:
    const HfCheckpoint& ckpt_;
    const TensorTypePolicy& policy_;
    int64_t n_layer_;
    std::vector<PlannedTensor> tensors_;
    std::set<std::string> used_;
};

// Layer index of "model.layers.N....", or -1.
int64_t layer_of(const std::string& name) {
    static const std::string prefix = "model.layers.";
    if (name.compare(0, prefix.size(), prefix) != 0) return -1;
    size_t i = prefix.size();
    int64_t n = 0;
    bool any = false;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') {
        n = n * 10 + (name[i] - '0');
        ++i;
        any = true;
    }
    return any && i < name.size() && name[i] == '.' ? n : -1;
}

void plan_layer(Planner& pl, const Deepseek2HParams& hp, int64_t il, const HfCheckpoint& ckpt) {
    const std::string hf = "model.layers." + std::to_string(il) + ".";
    const std::string blk = "blk." + std::to_string(il) + ".";
    const int64_t H = hp.hidden_size;
    const int64_t n_head = hp.n_head;

    pl.copy(blk + "attn_norm.weight", hf + "input_layernorm.weight", {H});
    if (hp.q_lora_rank > 0) {
        pl.copy(blk + "attn_q_a.weight", hf + "self_attn.q_a_proj.weight", {hp.q_lora_rank, H});
        pl.copy(blk + "attn_q_a_norm.weight", hf + "self_attn.q_a_layernorm.weight", {hp.q_lora_rank});
        pl.copy(blk + "attn_q_b.weight", hf + "self_attn.q_b_proj.weight", {n_head * hp.q_head_dim(), hp.q_lora_rank});
    } else {
        pl.copy(blk + "attn_q.weight", hf + "self_attn.q_proj.weight", {n_head * hp.q_head_dim(), H});
    }
    pl.copy(blk + "attn_kv_a_mqa.weight", hf + "self_attn.kv_a_proj_with_mqa.weight",
            {hp.kv_lora_rank + hp.qk_rope_head_dim, H});
    pl.copy(blk + "attn_kv_a_norm.weight", hf + "self_attn.kv_a_layernorm.weight", {hp.kv_lora_rank});

    // MLA absorption layout (llama.cpp): kv_b_proj split per head into k_b (transposed) and v_b.
    const std::string kv_b = hf + "self_attn.kv_b_proj.weight";
    pl.expect(kv_b, {n_head * (hp.qk_nope_head_dim + hp.v_head_dim), hp.kv_lora_rank});
    for (auto [name, source, ne] :
         {std::tuple{blk + "attn_k_b.weight", TensorSource::KvBToKB,
                     std::vector<int64_t>{hp.qk_nope_head_dim, hp.kv_lora_rank, n_head}},
          std::tuple{blk + "attn_v_b.weight", TensorSource::KvBToVB,
                     std::vector<int64_t>{hp.kv_lora_rank, hp.v_head_dim, n_head}}}) {
        PlannedTensor& p = pl.add(name, ne, source, {kv_b});
        p.n_head = n_head;
        p.nope = hp.qk_nope_head_dim;
        p.v_dim = hp.v_head_dim;
    }
    pl.copy(blk + "attn_output.weight", hf + "self_attn.o_proj.weight", {H, n_head * hp.v_head_dim});
    pl.copy(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight", {H});

    if (!hp.is_moe_layer(il)) {
        const int64_t I = hp.intermediate_size;
        pl.copy(blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight", {I, H});
        pl.copy(blk + "ffn_up.weight", hf + "mlp.up_proj.weight", {I, H});
        pl.copy(blk + "ffn_down.weight", hf + "mlp.down_proj.weight", {H, I});
        return;
    }

    const int64_t E = hp.n_routed_experts;
    const int64_t F = hp.moe_intermediate_size;
    pl.copy(blk + "ffn_gate_inp.weight", hf + "mlp.gate.weight", {E, H});
    const std::string bias = hf + "mlp.gate.e_score_correction_bias";
    if (ckpt.tensors().has(bias)) {
        pl.copy(blk + "exp_probs_b.bias", bias, {E});
    } else if (hp.topk_method == "noaux_tc") {
        fail(MOECPU_ERR_BAD_FORMAT, "checkpoint " + ckpt.tensors().description() + " has no tensor '" + bias +
                                        "', which topk_method noaux_tc requires");
    }
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
        const bool down = std::string(proj) == "down_proj";
        std::vector<std::string> names;
        for (int64_t e = 0; e < E; ++e) {
            names.push_back(hf + "mlp.experts." + std::to_string(e) + "." + proj + ".weight");
            pl.expect(names.back(), down ? std::vector<int64_t>{H, F} : std::vector<int64_t>{F, H});
        }
        const std::string gguf = std::string(down ? "ffn_down" : proj[0] == 'g' ? "ffn_gate" : "ffn_up") + "_exps.weight";
        pl.add(blk + gguf, down ? std::vector<int64_t>{F, H, E} : std::vector<int64_t>{H, F, E}, TensorSource::MergeExperts,
               std::move(names));
    }
    if (hp.n_shared_experts > 0) {
        const int64_t S = hp.n_shared_experts * F;
        pl.copy(blk + "ffn_gate_shexp.weight", hf + "mlp.shared_experts.gate_proj.weight", {S, H});
        pl.copy(blk + "ffn_up_shexp.weight", hf + "mlp.shared_experts.up_proj.weight", {S, H});
        pl.copy(blk + "ffn_down_shexp.weight", hf + "mlp.shared_experts.down_proj.weight", {H, S});
    }
}

std::string rounded_count(double n) {
    double scaled;
    const char* suffix;
    if (n > 1e12) {
        scaled = n * 1e-12, suffix = "T";
    } else if (n > 1e9) {
        scaled = n * 1e-9, suffix = "B";
    } else if (n > 1e6) {
        scaled = n * 1e-6, suffix = "M";
    } else {
        scaled = n * 1e-3, suffix = "K";
    }
    // Digits after the point so that at least two significant digits show.
    std::string whole = std::to_string(static_cast<long long>(std::nearbyint(scaled)));
    size_t nz = whole.find_first_not_of('0');
    const int int_digits = nz == std::string::npos ? 0 : static_cast<int>(whole.size() - nz);
    const int decimals = std::max(2 - int_digits, 0);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f%s", decimals, scaled, suffix);
    return buf;
}

}  // namespace

std::string size_label(const std::vector<PlannedTensor>& tensors) {
    double total = 0, shared = 0, expert = 0;
    int64_t expert_sum = 0, n_expert_tensors = 0;
    for (const PlannedTensor& t : tensors) {
        const double size = static_cast<double>(t.n_elements());
        if (t.name.find("_exps.") != std::string::npos && t.n_dims >= 3) {
            const int64_t count = t.ne[2];
            expert += std::floor(size / static_cast<double>(count));
            expert_sum += count;
            ++n_expert_tensors;
        } else {
            shared += size;
        }
        total += size;
    }
    if (n_expert_tensors > 0) return std::to_string(expert_sum / n_expert_tensors) + "x" + rounded_count(shared + expert);
    return rounded_count(total);
}

GgufPlan plan_deepseek2(const HfCheckpoint& ckpt, const Deepseek2HParams& hp, const TensorTypePolicy& policy,
                        const std::string& model_name) {
    Planner pl(ckpt, policy, hp.n_layer);
    const int64_t H = hp.hidden_size;
    pl.copy("token_embd.weight", "model.embed_tokens.weight", {hp.vocab_size, H});
    for (int64_t il = 0; il < hp.n_layer; ++il) plan_layer(pl, hp, il, ckpt);
    pl.copy("output_norm.weight", "model.norm.weight", {H});
    if (!hp.tie_word_embeddings) pl.copy("output.weight", "lm_head.weight", {hp.vocab_size, H});

    GgufPlan plan;
    // Everything in the checkpoint must be accounted for: used, an FP8 scale of a used tensor, or
    // part of an MTP layer (layers >= num_hidden_layers, which llama.cpp does not convert either).
    int64_t n_mtp = 0;
    std::set<int64_t> mtp_layers;
    for (const std::string& name : ckpt.tensors().names()) {
        if (pl.used().count(name)) continue;
        const int64_t layer = layer_of(name);
        if (layer >= hp.n_layer) {
            ++n_mtp;
            mtp_layers.insert(layer);
            continue;
        }
        if (safetensors::Checkpoint::is_scale_tensor_name(name) &&
            pl.used().count(name.substr(0, name.size() - std::string("_scale_inv").size()))) {
            continue;
        }
        if (name.find("rotary_emb.inv_freq") != std::string::npos) continue;  // recomputed from config
        if (hp.tie_word_embeddings && name == "lm_head.weight") continue;
        const safetensors::TensorInfo* t = ckpt.tensors().find(name);
        fail(MOECPU_ERR_BAD_FORMAT, "'" + t->file + "': tensor '" + name + "' does not fit the deepseek2 layout of '" +
                                        ckpt.config_path() + "'");
    }
    if (n_mtp > 0) {
        std::string layers;
        for (int64_t l : mtp_layers) layers += (layers.empty() ? "" : ", ") + std::to_string(l);
        plan.notes.push_back("skipping " + std::to_string(n_mtp) + " tensors of the multi-token-prediction layer(s) " +
                             layers + " (not used for inference, as in llama.cpp)");
    }
    plan.tensors = pl.take();

    const std::string a = std::string(kArchDeepseek2) + ".";
    auto& kv = plan.kvs;
    auto set = [&kv](std::string key, Value v) { kv.push_back({std::move(key), std::move(v)}); };
    auto u32 = [](int64_t v) { return Value::make_u32(static_cast<uint32_t>(v)); };
    auto f32 = [](double v) { return Value::make_f32(static_cast<float>(v)); };

    set("general.architecture", Value::make_string(kArchDeepseek2));
    set("general.type", Value::make_string("model"));
    set("general.name", Value::make_string(model_name));
    set("general.size_label", Value::make_string(size_label(plan.tensors)));
    set(a + "block_count", u32(hp.n_layer));
    set(a + "context_length", u32(hp.context_length));
    set(a + "embedding_length", u32(hp.hidden_size));
    set(a + "feed_forward_length", u32(hp.intermediate_size));
    set(a + "attention.head_count", u32(hp.n_head));
    // MLA is stored as MQA with one shared compressed KV head.
    set(a + "attention.head_count_kv", u32(1));
    if (hp.yarn) {
        set(a + "rope.scaling.type", Value::make_string("yarn"));
        set(a + "rope.scaling.factor", f32(hp.yarn->factor));
        set(a + "rope.scaling.original_context_length", u32(hp.yarn->original_context_length));
        if (hp.yarn->extrapolation_factor) set(a + "rope.scaling.yarn_ext_factor", f32(*hp.yarn->extrapolation_factor));
        if (hp.yarn->attention_factor) set(a + "rope.scaling.yarn_attn_factor", f32(*hp.yarn->attention_factor));
        if (hp.yarn->beta_fast) set(a + "rope.scaling.yarn_beta_fast", f32(*hp.yarn->beta_fast));
        if (hp.yarn->beta_slow) set(a + "rope.scaling.yarn_beta_slow", f32(*hp.yarn->beta_slow));
    }
    set(a + "rope.freq_base", f32(hp.rope_theta));
    set(a + "attention.layer_norm_rms_epsilon", f32(hp.rms_norm_eps));
    if (hp.n_routed_experts > 0) {
        set(a + "expert_count", u32(hp.n_routed_experts));
        set(a + "expert_used_count", u32(hp.n_experts_used));
        if (hp.n_group) set(a + "expert_group_count", u32(*hp.n_group));
        if (hp.topk_group) set(a + "expert_group_used_count", u32(*hp.topk_group));
    }
    // llama.cpp writes this only when config.json names scoring_func and then defaults to softmax;
    // writing softmax explicitly for V2 configs gives the same model and a self-describing file.
    set(a + "expert_gating_func", u32(hp.scoring_func == "sigmoid" ? kGatingSigmoid : kGatingSoftmax));
    set("general.file_type", u32(policy.file_type()));
    set(a + "leading_dense_block_count", u32(hp.first_k_dense_replace));
    set(a + "vocab_size", u32(hp.vocab_size));
    // Written as 0 without q-LoRA: llama.cpp requires the key unless the model has 27 layers.
    set(a + "attention.q_lora_rank", u32(hp.q_lora_rank));
    set(a + "attention.kv_lora_rank", u32(hp.kv_lora_rank));
    // MLA: the cached "key" is the compressed latent plus the shared rope part, the "value" the
    // latent; the *_mla keys hold the per-head sizes after decompression.
    set(a + "attention.key_length", u32(hp.kv_lora_rank + hp.qk_rope_head_dim));
    set(a + "attention.value_length", u32(hp.kv_lora_rank));
    set(a + "attention.key_length_mla", u32(hp.q_head_dim()));
    set(a + "attention.value_length_mla", u32(hp.v_head_dim));
    set(a + "expert_feed_forward_length", u32(hp.moe_intermediate_size));
    set(a + "expert_shared_count", u32(hp.n_shared_experts));
    // Older llama.cpp builds require the key; 1.0 (no scaling) when config.json has none.
    set(a + "expert_weights_scale", f32(hp.routed_scaling_factor.value_or(1.0)));
    if (hp.norm_topk_prob) set(a + "expert_weights_norm", Value::make_bool(true));
    set(a + "rope.dimension_count", u32(hp.qk_rope_head_dim));
    // llama.cpp's deepseek2 convention (TAG_DEEPSEEK2_YARN_LOG_MUL_FIX): 0.1 * mscale_all_dim.
    if (hp.yarn && hp.yarn->mscale_all_dim) set(a + "rope.scaling.yarn_log_multiplier", f32(0.1 * *hp.yarn->mscale_all_dim));
    set("general.quantization_version", u32(kGgmlQuantVersion));
    return plan;
}

}  // namespace moecpu::convert
