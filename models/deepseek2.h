// DeepSeek-V2 / V2-Lite / V3 / R1 (GGUF architecture "deepseek2"): hyper-parameters from GGUF
// keys, the tensor list, and the forward pass (MLA attention over a compressed KV cache, dense
// leading layers, routed + shared experts).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "lib/src/linear.h"
#include "lib/src/weight_view.h"

namespace moecpu {

namespace gguf { class Reader; }
class ActivationObserver;

struct Deepseek2Hparams {
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_ctx_train = 0, n_head = 0;
    int64_t n_ff = 0;             // dense FFN width (leading layers)
    int64_t n_ff_exp = 0;         // one routed expert's FFN width
    int64_t n_expert = 0, n_expert_used = 0, n_expert_shared = 0, n_leading_dense = 0;
    int64_t q_lora_rank = 0;      // 0: direct q projection (V2-Lite)
    int64_t kv_lora_rank = 0;
    int64_t qk_nope = 0, qk_rope = 0, v_head = 0;
    int64_t n_group = 1, n_group_used = 1;
    float rms_eps = 1e-6f;
    float rope_base = 10000.0f;
    float expert_weights_scale = 1.0f;
    bool expert_weights_norm = false;
    bool sigmoid_gating = false;  // else softmax
    // YaRN context extension (DeepSeek's variant: frequencies blended per pair, attention
    // logits scaled by mscale^2, cos/sin unscaled).
    bool yarn = false;
    float yarn_factor = 1.0f;
    int64_t yarn_orig_ctx = 0;
    float yarn_log_mul = 0.0f;
    float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;

    int64_t qk_head() const { return qk_nope + qk_rope; }
};

struct Deepseek2Layer {
    std::vector<float> attn_norm, q_a_norm, kv_a_norm, ffn_norm;  // [n_embd] / [q_lora] / [kv_lora]
    WeightView q_a;       // [n_embd] -> [q_lora]
    WeightView q_b;       // [q_lora] -> [n_head * qk_head]
    WeightView q;         // [n_embd] -> [n_head * qk_head] (no q-LoRA)
    WeightView kv_a_mqa;  // [n_embd] -> [kv_lora + qk_rope]
    WeightView k_b;       // per head: [qk_nope] -> [kv_lora]   (n_mat = n_head)
    WeightView v_b;       // per head: [kv_lora] -> [v_head]    (n_mat = n_head)
    WeightView attn_out;  // [n_head * v_head] -> [n_embd]
    bool moe = false;
    WeightView ffn_gate, ffn_up, ffn_down;           // dense layers
    WeightView gate_inp;                             // router [n_embd] -> [n_expert]
    std::vector<float> exp_probs_b;                  // [n_expert] selection bias, empty if none
    WeightView gate_exps, up_exps, down_exps;        // n_mat = n_expert
    WeightView gate_shexp, up_shexp, down_shexp;     // shared experts (may be empty)
    std::vector<float> k_b_owned;                    // k_b derived from an attn_kv_b-only file
};

class Deepseek2Model {
public:
    // Binds every tensor of `reader` (kept alive by the caller); checks shapes against the
    // hyper-parameters and reports the first mismatch with the file and tensor named.
    explicit Deepseek2Model(const gguf::Reader& reader);

    const Deepseek2Hparams& hparams() const { return hp_; }
    const std::vector<Deepseek2Layer>& layers() const { return layers_; }
    const WeightView& token_embd() const { return token_embd_; }
    const WeightView& output() const { return output_; }
    const std::vector<float>& output_norm() const { return output_norm_; }
    // Bytes of weights read for one decoded token (dense part + n_expert_used routed experts).
    uint64_t weight_bytes_per_token() const;

private:
    Deepseek2Hparams hp_;
    WeightView token_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<Deepseek2Layer> layers_;
};

// Told after each MoE layer's router has chosen and before the chosen experts run: the hook for
// residency accounting and for prefetching expert weights so disk reads overlap compute.
class RoutingObserver {
public:
    virtual ~RoutingObserver() = default;
    // chosen: [n_tokens][k] expert ids; xn: [n_tokens][n_embd] the layer's normalised FFN input.
    virtual void on_routed(int layer, const int32_t* chosen, int64_t n_tokens, int64_t k, const float* xn) = 0;
};

// Everything a context needs per model: compressed KV cache, RoPE tables, scratch buffers.
// Sized once at creation (n_ctx tokens, batches of up to n_batch tokens); evaluation allocates
// nothing.
class Deepseek2State {
public:
    Deepseek2State(const Deepseek2Model& model, int64_t n_ctx, int64_t n_batch);
    ~Deepseek2State();

    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_batch() const { return n_batch_; }

    // Evaluates tokens at positions pos0 .. pos0+n-1 (the cache must hold pos0 entries).
    // Writes logits for every token ([n][n_vocab]) if all_logits, else for the last one only.
    void forward(const int32_t* tokens, int64_t n, int64_t pos0, bool all_logits, float* logits, int n_threads);

    // Observers are called in the order added; they must outlive this state.
    void add_observer(RoutingObserver* observer) { observers_.push_back(observer); }

private:
    struct Buffers;
    void attention(const Deepseek2Layer& L, int il, int64_t n, int64_t pos0, int n_threads);
    void feed_forward(const Deepseek2Layer& L, int64_t n, int n_threads);
    void moe(const Deepseek2Layer& L, int il, int64_t n, int n_threads);
    void plan_moe(int64_t n_batch);
    void run_experts(const Deepseek2Layer& L, int64_t n, int n_threads);
    void observe_expert_inputs(ActivationObserver& observer, const Deepseek2Layer& L, int64_t n);

    const Deepseek2Model& model_;
    int64_t n_ctx_, n_batch_;
    std::unique_ptr<Buffers> b_;
    std::vector<RoutingObserver*> observers_;
};

}  // namespace moecpu
