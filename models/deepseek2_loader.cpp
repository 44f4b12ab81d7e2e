// Binding a deepseek2 GGUF file: hyper-parameters from `deepseek2.*` keys, every tensor checked
// against them. Both MLA layouts load: the split `attn_k_b` / `attn_v_b` that current llama.cpp
// writes, and the older single `attn_kv_b` (its K half is transposed once at load).
#include <cmath>
#include <string>

#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "models/deepseek2.h"
#include "quant/type_traits.h"

namespace moecpu {

namespace {

class Binder {
public:
    explicit Binder(const gguf::Reader& r) : r_(r) {}

    int64_t key_int(const std::string& suffix, int64_t fallback, bool required = false) const {
        const std::string key = "deepseek2." + suffix;
        if (!r_.has(key)) {
            if (required) fail(MOECPU_ERR_BAD_FORMAT, r_.path() + ": missing key '" + key + "'");
            return fallback;
        }
        return r_.get_i64(key, fallback);
    }
    double key_float(const std::string& suffix, double fallback) const {
        return r_.get_f64("deepseek2." + suffix, fallback);
    }
    bool key_bool(const std::string& suffix, bool fallback) const { return r_.get_bool("deepseek2." + suffix, fallback); }
    std::string key_string(const std::string& suffix) const { return r_.get_string("deepseek2." + suffix, ""); }

    const gguf::TensorInfo* find(const std::string& name) const { return r_.find_tensor(name); }

    // A 2-D or 3-D weight with ne = {cols, rows, n_mat}; missing → error if required, else empty.
    WeightView weight(const std::string& name, int64_t cols, int64_t rows, int64_t n_mat = 1, bool required = true) const {
        const gguf::TensorInfo* t = find(name);
        if (!t) {
            if (required) fail(MOECPU_ERR_BAD_FORMAT, r_.path() + ": missing tensor '" + name + "'");
            return {};
        }
        check_shape(*t, {cols, rows, n_mat});
        check_supported(*t);
        return make_weight_view(*t);
    }

    // A small tensor (norm weights, biases) copied to f32.
    std::vector<float> vector(const std::string& name, int64_t n, bool required = true) const {
        const gguf::TensorInfo* t = find(name);
        if (!t) {
            if (required) fail(MOECPU_ERR_BAD_FORMAT, r_.path() + ": missing tensor '" + name + "'");
            return {};
        }
        check_shape(*t, {n, 1, 1});
        return to_f32(*t);
    }

    std::vector<float> to_f32(const gguf::TensorInfo& t) const {
        check_supported(t);
        std::vector<float> out(size_t(t.n_elements()));
        traits_of(t.type).to_float(t.data, out.data(), t.n_elements());
        return out;
    }

    void check_shape(const gguf::TensorInfo& t, std::initializer_list<int64_t> want) const {
        int64_t ne[4] = {1, 1, 1, 1};
        int i = 0;
        for (int64_t v : want) ne[i++] = v;
        if (t.ne[0] != ne[0] || t.ne[1] != ne[1] || t.ne[2] != ne[2] || t.ne[3] != 1)
            fail(MOECPU_ERR_BAD_FORMAT, r_.path() + ": tensor '" + t.name + "' has shape " + shape(t.ne) +
                                            ", expected " + shape(ne) + " from the model's hyper-parameters");
    }

    void check_supported(const gguf::TensorInfo& t) const {
        const TypeTraits* tr = type_traits(uint32_t(t.type));
        if (!tr || !tr->supported || !tr->to_float)
            fail(MOECPU_ERR_UNSUPPORTED, r_.path() + ": tensor '" + t.name + "' has type " +
                                             (tr ? tr->name : "?") + ", which moecpu cannot compute with yet");
    }

    const std::string& path() const { return r_.path(); }

private:
    static std::string shape(const int64_t* ne) {
        std::string s = "[" + std::to_string(ne[0]);
        for (int i = 1; i < 4 && ne[i] != 1; ++i) s += ", " + std::to_string(ne[i]);
        return s + "]";
    }
    const gguf::Reader& r_;
};

Deepseek2Hparams read_hparams(const Binder& b, const gguf::Reader& r) {
    Deepseek2Hparams h;
    h.n_embd = b.key_int("embedding_length", 0, true);
    h.n_layer = b.key_int("block_count", 0, true);
    h.n_ctx_train = b.key_int("context_length", 4096);
    h.n_head = b.key_int("attention.head_count", 0, true);
    h.n_ff = b.key_int("feed_forward_length", 0);
    h.n_ff_exp = b.key_int("expert_feed_forward_length", 0);
    h.n_expert = b.key_int("expert_count", 0);
    h.n_expert_used = b.key_int("expert_used_count", 0);
    h.n_expert_shared = b.key_int("expert_shared_count", 0);
    h.n_leading_dense = b.key_int("leading_dense_block_count", 0);
    h.q_lora_rank = b.key_int("attention.q_lora_rank", 0);
    h.kv_lora_rank = b.key_int("attention.kv_lora_rank", 0, true);
    h.qk_rope = b.key_int("rope.dimension_count", 0, true);
    // Split-MLA files store the per-head sizes under *_mla and the compressed sizes in the
    // plain keys; older files have only the plain keys, holding the per-head sizes.
    const int64_t qk_head = r.has("deepseek2.attention.key_length_mla") ? b.key_int("attention.key_length_mla", 0)
                                                                        : b.key_int("attention.key_length", 0, true);
    h.v_head = r.has("deepseek2.attention.value_length_mla") ? b.key_int("attention.value_length_mla", 0)
                                                             : b.key_int("attention.value_length", 0, true);
    h.qk_nope = qk_head - h.qk_rope;
    h.n_group = std::max<int64_t>(1, b.key_int("expert_group_count", 1));
    h.n_group_used = std::max<int64_t>(1, b.key_int("expert_group_used_count", 1));
    h.rms_eps = float(b.key_float("attention.layer_norm_rms_epsilon", 1e-6));
    h.rope_base = float(b.key_float("rope.freq_base", 10000.0));
    h.expert_weights_scale = float(b.key_float("expert_weights_scale", 1.0));
    h.expert_weights_norm = b.key_bool("expert_weights_norm", false);
    const int64_t gating = b.key_int("expert_gating_func", 1);  // llama.cpp: 1 softmax, 2 sigmoid
    h.sigmoid_gating = gating == 2;
    const std::string scaling = b.key_string("rope.scaling.type");
    h.yarn_factor = float(b.key_float("rope.scaling.factor", 1.0));
    h.yarn = scaling == "yarn" && h.yarn_factor > 1.0f;
    h.yarn_orig_ctx = b.key_int("rope.scaling.original_context_length", h.n_ctx_train);
    h.yarn_log_mul = float(b.key_float("rope.scaling.yarn_log_multiplier", 0.0));
    h.yarn_beta_fast = float(b.key_float("rope.scaling.yarn_beta_fast", 32.0));
    h.yarn_beta_slow = float(b.key_float("rope.scaling.yarn_beta_slow", 1.0));

    const std::string& p = b.path();
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) fail(MOECPU_ERR_BAD_FORMAT, p + ": inconsistent hyper-parameters: " + what);
    };
    need(h.n_embd > 0 && h.n_layer > 0 && h.n_head > 0, "embedding_length, block_count and head_count must be positive");
    need(h.qk_nope > 0 && h.qk_rope > 0 && h.qk_rope % 2 == 0, "key length must exceed an even rope dimension count");
    need(h.v_head > 0 && h.kv_lora_rank > 0, "value length and kv_lora_rank must be positive");
    need(h.n_leading_dense <= h.n_layer, "leading_dense_block_count exceeds block_count");
    if (h.n_leading_dense < h.n_layer) {
        need(h.n_expert > 0 && h.n_expert_used > 0 && h.n_expert_used <= h.n_expert && h.n_ff_exp > 0,
             "MoE layers need expert_count >= expert_used_count > 0 and expert_feed_forward_length");
        need(h.n_expert % h.n_group == 0 && h.n_group_used <= h.n_group, "expert groups must divide the experts");
        need(h.n_expert_used <= h.n_group_used * (h.n_expert / h.n_group), "too few experts in the kept groups");
    }
    return h;
}

}  // namespace

Deepseek2Model::Deepseek2Model(const gguf::Reader& r) {
    const std::string arch = r.get_string("general.architecture");
    if (arch != "deepseek2")
        fail(MOECPU_ERR_UNSUPPORTED, r.path() + ": architecture '" + arch + "' is not supported (expected deepseek2)");
    Binder b(r);
    hp_ = read_hparams(b, r);
    const Deepseek2Hparams& h = hp_;

    const gguf::TensorInfo* embd = b.find("token_embd.weight");
    if (!embd) fail(MOECPU_ERR_BAD_FORMAT, r.path() + ": missing tensor 'token_embd.weight'");
    hp_.n_vocab = embd->ne[1];
    token_embd_ = b.weight("token_embd.weight", h.n_embd, hp_.n_vocab);
    output_norm_ = b.vector("output_norm.weight", h.n_embd);
    output_ = b.find("output.weight") ? b.weight("output.weight", h.n_embd, hp_.n_vocab) : token_embd_;

    const int64_t H = h.n_head;
    layers_.resize(size_t(h.n_layer));
    for (int64_t il = 0; il < h.n_layer; ++il) {
        Deepseek2Layer& L = layers_[size_t(il)];
        const std::string p = "blk." + std::to_string(il) + ".";
        L.attn_norm = b.vector(p + "attn_norm.weight", h.n_embd);
        if (h.q_lora_rank > 0) {
            L.q_a = b.weight(p + "attn_q_a.weight", h.n_embd, h.q_lora_rank);
            L.q_a_norm = b.vector(p + "attn_q_a_norm.weight", h.q_lora_rank);
            L.q_b = b.weight(p + "attn_q_b.weight", h.q_lora_rank, H * h.qk_head());
        } else {
            L.q = b.weight(p + "attn_q.weight", h.n_embd, H * h.qk_head());
        }
        L.kv_a_mqa = b.weight(p + "attn_kv_a_mqa.weight", h.n_embd, h.kv_lora_rank + h.qk_rope);
        L.kv_a_norm = b.vector(p + "attn_kv_a_norm.weight", h.kv_lora_rank);
        if (b.find(p + "attn_k_b.weight")) {
            L.k_b = b.weight(p + "attn_k_b.weight", h.qk_nope, h.kv_lora_rank, H);
            L.v_b = b.weight(p + "attn_v_b.weight", h.kv_lora_rank, h.v_head, H);
        } else {
            // attn_kv_b: [kv_lora] -> H x [k_nope | v]. V rows are used in place; the K half is
            // transposed once into [H][kv_lora][k_nope] so decode needs no transposed matvec.
            const int64_t per_head = h.qk_nope + h.v_head;
            WeightView kv_b = b.weight(p + "attn_kv_b.weight", h.kv_lora_rank, H * per_head);
            L.v_b = kv_b;
            L.v_b.data = kv_b.data + size_t(h.qk_nope) * kv_b.row_bytes;
            L.v_b.rows = h.v_head;
            L.v_b.n_mat = H;
            L.v_b.mat_bytes = size_t(per_head) * kv_b.row_bytes;
            const std::vector<float> full = b.to_f32(*b.find(p + "attn_kv_b.weight"));  // [H*per_head][kv_lora]
            L.k_b_owned.resize(size_t(H * h.kv_lora_rank * h.qk_nope));
            for (int64_t hd = 0; hd < H; ++hd)
                for (int64_t j = 0; j < h.qk_nope; ++j)
                    for (int64_t c = 0; c < h.kv_lora_rank; ++c)
                        L.k_b_owned[size_t((hd * h.kv_lora_rank + c) * h.qk_nope + j)] =
                            full[size_t((hd * per_head + j) * h.kv_lora_rank + c)];
            L.k_b.type = GgmlType::F32;
            L.k_b.data = reinterpret_cast<const uint8_t*>(L.k_b_owned.data());
            L.k_b.cols = h.qk_nope;
            L.k_b.rows = h.kv_lora_rank;
            L.k_b.n_mat = H;
            L.k_b.row_bytes = size_t(h.qk_nope) * sizeof(float);
            L.k_b.mat_bytes = L.k_b.row_bytes * size_t(h.kv_lora_rank);
        }
        L.attn_out = b.weight(p + "attn_output.weight", H * h.v_head, h.n_embd);
        L.ffn_norm = b.vector(p + "ffn_norm.weight", h.n_embd);
        L.moe = il >= h.n_leading_dense;
        if (!L.moe) {
            L.ffn_gate = b.weight(p + "ffn_gate.weight", h.n_embd, h.n_ff);
            L.ffn_up = b.weight(p + "ffn_up.weight", h.n_embd, h.n_ff);
            L.ffn_down = b.weight(p + "ffn_down.weight", h.n_ff, h.n_embd);
            continue;
        }
        L.gate_inp = b.weight(p + "ffn_gate_inp.weight", h.n_embd, h.n_expert);
        L.exp_probs_b = b.vector(p + "exp_probs_b.bias", h.n_expert, false);
        L.gate_exps = b.weight(p + "ffn_gate_exps.weight", h.n_embd, h.n_ff_exp, h.n_expert);
        L.up_exps = b.weight(p + "ffn_up_exps.weight", h.n_embd, h.n_ff_exp, h.n_expert);
        L.down_exps = b.weight(p + "ffn_down_exps.weight", h.n_ff_exp, h.n_embd, h.n_expert);
        if (h.n_expert_shared > 0) {
            const int64_t n_sh = h.n_ff_exp * h.n_expert_shared;
            L.gate_shexp = b.weight(p + "ffn_gate_shexp.weight", h.n_embd, n_sh);
            L.up_shexp = b.weight(p + "ffn_up_shexp.weight", h.n_embd, n_sh);
            L.down_shexp = b.weight(p + "ffn_down_shexp.weight", n_sh, h.n_embd);
        }
    }
}

uint64_t Deepseek2Model::weight_bytes_per_token() const {
    auto bytes = [](const WeightView& w) { return w.empty() ? uint64_t(0) : uint64_t(w.mat_bytes) * uint64_t(w.n_mat); };
    uint64_t total = bytes(output_) + token_embd_.row_bytes;
    for (const Deepseek2Layer& L : layers_) {
        total += bytes(L.q_a) + bytes(L.q_b) + bytes(L.q) + bytes(L.kv_a_mqa) + bytes(L.k_b) + bytes(L.v_b) +
                 bytes(L.attn_out);
        if (!L.moe) {
            total += bytes(L.ffn_gate) + bytes(L.ffn_up) + bytes(L.ffn_down);
            continue;
        }
        total += bytes(L.gate_inp) + bytes(L.gate_shexp) + bytes(L.up_shexp) + bytes(L.down_shexp);
        total += uint64_t(hp_.n_expert_used) * (L.gate_exps.mat_bytes + L.up_exps.mat_bytes + L.down_exps.mat_bytes);
    }
    return total;
}

}  // namespace moecpu
