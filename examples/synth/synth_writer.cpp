#include "examples/synth/synth_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "examples/synth/synth_tokenizer.h"
#include "lib/src/error.h"
#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu::synth {

namespace {

// xorshift64*: fast, seeded, good enough to pick rows and draw uniform floats.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) { next(); }
    uint64_t next() {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 0x2545F4914F6CDD1Dull;
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * float(next() >> 40) / float(1ull << 24); }

private:
    uint64_t s_;
};

enum class Fill { Ones, Gaussianish, SmallBias, QuantRows };

struct PlannedTensor {
    std::string name;
    GgmlType type;
    int n_dims;
    int64_t ne[3];
    Fill fill;
    bool expert = false;
};

// A type whose block fits rows of `cols` elements, close in size to `want`.
GgmlType storage_type(GgmlType want, int64_t cols) {
    if (cols % traits_of(want).block_size == 0) return want;
    GgmlType alt;
    switch (want) {
        case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: alt = GgmlType::Q4_0; break;
        case GgmlType::Q5_K: alt = GgmlType::Q5_0; break;
        default: alt = GgmlType::Q8_0; break;
    }
    if (cols % traits_of(alt).block_size == 0) return alt;
    if (cols % traits_of(GgmlType::Q8_0).block_size == 0) return GgmlType::Q8_0;
    return GgmlType::F16;
}

// Random rows of one (type, width), quantized once; big tensors are assembled from them, so
// no big tensor ever exists in float. Values are uniform with variance 1/cols, which keeps a
// matvec of a unit-RMS input at unit scale and activations bounded through the layers.
class RowPool {
public:
    static constexpr int kRows = 128;

    const uint8_t* row(GgmlType type, int64_t cols, Rng& rng) {
        auto key = std::make_pair(uint32_t(type), cols);
        auto it = pools_.find(key);
        if (it == pools_.end()) it = pools_.emplace(key, build(type, cols, rng)).first;
        const size_t rb = row_size(type, cols);
        return it->second.data() + size_t(rng.next() % kRows) * rb;
    }

private:
    static std::vector<uint8_t> build(GgmlType type, int64_t cols, Rng& rng) {
        const TypeTraits& tr = traits_of(type);
        if (!tr.from_float_ref)
            fail(MOECPU_ERR_UNSUPPORTED, std::string("moe-synth cannot write type ") + tr.name + " (no reference quantizer)");
        const size_t rb = row_size(type, cols);
        std::vector<uint8_t> bytes(rb * kRows);
        std::vector<float> f(static_cast<size_t>(cols));
        const float a = std::sqrt(3.0f / float(cols));
        for (int r = 0; r < kRows; ++r) {
            for (float& v : f) v = rng.uniform(-a, a);
            tr.from_float_ref(f.data(), bytes.data() + size_t(r) * rb, cols);
        }
        return bytes;
    }
    std::map<std::pair<uint32_t, int64_t>, std::vector<uint8_t>> pools_;
};

std::vector<PlannedTensor> plan_tensors(const SynthSpec& s, std::vector<std::string>& notes) {
    std::vector<PlannedTensor> out;
    std::set<std::string> noted;
    auto matrix = [&](const std::string& name, int64_t cols, int64_t rows, int64_t n_mat = 1, bool expert = false) {
        const GgmlType t = storage_type(s.type, cols);
        if (t != s.type) {
            // One note per tensor kind ("attn_k_b"), not per layer.
            std::string kind = name.substr(name.find('.') + 1);
            kind = kind.substr(kind.find('.') + 1);
            kind = name.rfind("blk.", 0) == 0 ? kind : name;
            if (noted.insert(kind).second)
                notes.push_back(kind + ": rows of " + std::to_string(cols) + " do not fit " + traits_of(s.type).name +
                                " blocks; written as " + traits_of(t).name);
        }
        out.push_back({name, t, n_mat > 1 ? 3 : 2, {cols, rows, n_mat}, Fill::QuantRows, expert});
    };
    auto vec = [&](const std::string& name, int64_t n, Fill fill) {
        out.push_back({name, GgmlType::F32, 1, {n, 1, 1}, fill, false});
    };
    const int64_t H = s.n_head;
    matrix("token_embd.weight", s.n_embd, s.n_vocab);
    for (int64_t il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        vec(p + "attn_norm.weight", s.n_embd, Fill::Ones);
        if (s.q_lora_rank > 0) {
            matrix(p + "attn_q_a.weight", s.n_embd, s.q_lora_rank);
            vec(p + "attn_q_a_norm.weight", s.q_lora_rank, Fill::Ones);
            matrix(p + "attn_q_b.weight", s.q_lora_rank, H * (s.qk_nope + s.qk_rope));
        } else {
            matrix(p + "attn_q.weight", s.n_embd, H * (s.qk_nope + s.qk_rope));
        }
        matrix(p + "attn_kv_a_mqa.weight", s.n_embd, s.kv_lora_rank + s.qk_rope);
        vec(p + "attn_kv_a_norm.weight", s.kv_lora_rank, Fill::Ones);
        matrix(p + "attn_k_b.weight", s.qk_nope, s.kv_lora_rank, H);
        matrix(p + "attn_v_b.weight", s.kv_lora_rank, s.v_head, H);
        matrix(p + "attn_output.weight", H * s.v_head, s.n_embd);
        vec(p + "ffn_norm.weight", s.n_embd, Fill::Ones);
        if (il < s.n_leading_dense) {
            matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff);
            matrix(p + "ffn_up.weight", s.n_embd, s.n_ff);
            matrix(p + "ffn_down.weight", s.n_ff, s.n_embd);
            continue;
        }
        // The router and its bias stay F32, as in published GGUF files.
        out.push_back({p + "ffn_gate_inp.weight", GgmlType::F32, 2, {s.n_embd, s.n_expert, 1}, Fill::Gaussianish, false});
        if (s.sigmoid_gating) vec(p + "exp_probs_b.bias", s.n_expert, Fill::SmallBias);
        matrix(p + "ffn_gate_exps.weight", s.n_embd, s.n_ff_exp, s.n_expert, true);
        matrix(p + "ffn_up_exps.weight", s.n_embd, s.n_ff_exp, s.n_expert, true);
        matrix(p + "ffn_down_exps.weight", s.n_ff_exp, s.n_embd, s.n_expert, true);
        if (s.n_expert_shared > 0) {
            const int64_t sh = s.n_ff_exp * s.n_expert_shared;
            matrix(p + "ffn_gate_shexp.weight", s.n_embd, sh);
            matrix(p + "ffn_up_shexp.weight", s.n_embd, sh);
            matrix(p + "ffn_down_shexp.weight", sh, s.n_embd);
        }
    }
    vec("output_norm.weight", s.n_embd, Fill::Ones);
    matrix("output.weight", s.n_embd, s.n_vocab);
    return out;
}

void set_hparam_keys(gguf::Writer& w, const SynthSpec& s) {
    using gguf::Value;
    const std::string a = "deepseek2.";
    auto u32 = [](int64_t v) { return Value::make_u32(uint32_t(v)); };
    auto f32 = [](double v) { return Value::make_f32(float(v)); };
    w.set("general.architecture", Value::make_string("deepseek2"));
    w.set("general.type", Value::make_string("model"));
    w.set("general.name", Value::make_string("synthetic " + s.arch + " (random weights, moe-synth)"));
    w.set("general.quantization_version", u32(2));
    w.set(a + "block_count", u32(s.n_layer));
    w.set(a + "context_length", u32(s.n_ctx_train));
    w.set(a + "embedding_length", u32(s.n_embd));
    w.set(a + "feed_forward_length", u32(s.n_ff));
    w.set(a + "attention.head_count", u32(s.n_head));
    w.set(a + "attention.head_count_kv", u32(1));
    if (s.yarn_factor > 1.0f) {
        w.set(a + "rope.scaling.type", Value::make_string("yarn"));
        w.set(a + "rope.scaling.factor", f32(s.yarn_factor));
        w.set(a + "rope.scaling.original_context_length", u32(s.yarn_orig_ctx));
        w.set(a + "rope.scaling.yarn_log_multiplier", f32(0.1 * s.yarn_mscale_all_dim));
    }
    w.set(a + "rope.freq_base", f32(s.rope_base));
    w.set(a + "attention.layer_norm_rms_epsilon", f32(s.rms_eps));
    w.set(a + "expert_count", u32(s.n_expert));
    w.set(a + "expert_used_count", u32(s.n_expert_used));
    w.set(a + "expert_group_count", u32(s.n_group));
    w.set(a + "expert_group_used_count", u32(s.n_group_used));
    w.set(a + "expert_gating_func", u32(s.sigmoid_gating ? 2 : 1));  // llama.cpp: 1 softmax, 2 sigmoid
    w.set(a + "leading_dense_block_count", u32(s.n_leading_dense));
    w.set(a + "vocab_size", u32(s.n_vocab));
    w.set(a + "attention.q_lora_rank", u32(s.q_lora_rank));
    w.set(a + "attention.kv_lora_rank", u32(s.kv_lora_rank));
    w.set(a + "attention.key_length", u32(s.kv_lora_rank + s.qk_rope));
    w.set(a + "attention.value_length", u32(s.kv_lora_rank));
    w.set(a + "attention.key_length_mla", u32(s.qk_nope + s.qk_rope));
    w.set(a + "attention.value_length_mla", u32(s.v_head));
    w.set(a + "expert_feed_forward_length", u32(s.n_ff_exp));
    w.set(a + "expert_shared_count", u32(s.n_expert_shared));
    w.set(a + "expert_weights_scale", f32(s.expert_weights_scale));
    if (s.expert_weights_norm) w.set(a + "expert_weights_norm", Value::make_bool(true));
    w.set(a + "rope.dimension_count", u32(s.qk_rope));
}

}  // namespace

SynthSummary write_synth_model(const SynthSpec& spec, const std::string& path, const SynthProgress& progress) {
    const TypeTraits* tr = type_traits(spec.type);
    if (!tr || !tr->supported || !tr->from_float_ref)
        fail(MOECPU_ERR_UNSUPPORTED, std::string("moe-synth cannot write type ") + (tr ? tr->name : "?"));
    SynthSummary sum;
    const std::vector<PlannedTensor> plan = plan_tensors(spec, sum.notes);

    gguf::Writer w(path);
    set_hparam_keys(w, spec);
    for (gguf::KeyValue& kv : synth_tokenizer_keys(spec.n_vocab)) w.set(kv.key, std::move(kv.value));
    std::map<std::string, uint64_t> by_type;
    for (const PlannedTensor& t : plan) {
        w.add_tensor(t.name, t.type, t.n_dims, t.ne);
        const uint64_t bytes = w.tensor_bytes(t.name);
        sum.tensor_bytes += bytes;
        by_type[traits_of(t.type).name] += bytes;
        if (t.expert) sum.expert_bytes += bytes;
    }
    sum.n_tensors = int64_t(plan.size());
    for (const auto& [name, bytes] : by_type) sum.bytes_by_type.emplace_back(name, bytes);

    Rng rng(spec.seed);
    RowPool pool;
    constexpr size_t kChunk = size_t(8) << 20;  // bytes handed to the writer at a time
    std::vector<uint8_t> chunk;
    chunk.reserve(kChunk + (size_t(1) << 20));
    std::vector<float> floats;
    uint64_t done = 0;
    for (const PlannedTensor& t : plan) {
        const int64_t cols = t.ne[0], rows = t.ne[1] * t.ne[2];
        if (t.fill != Fill::QuantRows) {
            // Small F32 tensors: norms of one, a router with variance 1/n_embd, a small bias.
            floats.resize(size_t(cols * rows));
            const float a = std::sqrt(3.0f / float(cols));
            for (float& v : floats)
                v = t.fill == Fill::Ones ? 1.0f : t.fill == Fill::SmallBias ? rng.uniform(0.0f, 0.01f) : rng.uniform(-a, a);
            w.write_tensor_data(floats.data(), floats.size() * sizeof(float));
            done += floats.size() * sizeof(float);
            continue;
        }
        const size_t rb = row_size(t.type, cols);
        for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* src = pool.row(t.type, cols, rng);
            chunk.insert(chunk.end(), src, src + rb);
            if (chunk.size() >= kChunk || r + 1 == rows) {
                w.write_tensor_data(chunk.data(), chunk.size());
                done += chunk.size();
                chunk.clear();
                if (progress) progress(done, sum.tensor_bytes);
            }
        }
    }
    w.finish();
    if (progress) progress(done, sum.tensor_bytes);
    sum.file_bytes = 0;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fseek(f, 0, SEEK_END);
        sum.file_bytes = uint64_t(std::ftell(f));
        std::fclose(f);
    }
    return sum;
}

}  // namespace moecpu::synth
