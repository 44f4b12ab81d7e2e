// The deepseek2 forward pass, written to be read top to bottom; speed lives in the kernels.
// Per layer: RMSNorm → MLA attention (absorbed form: queries are mapped into the compressed
// latent space, so the cache holds only kv_norm(c_kv) and the rotated k_pe per token; batches
// past a measured size decompress keys and values instead: deepseek2_prefill_attention.cpp) →
// RMSNorm → dense FFN or routed experts + shared experts (grouped by expert through
// moe_matmul, all in one parallel region per layer).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/fork_threshold.h"
#include "cpu-kernels/moe_matmul.h"
#include "cpu-kernels/work_split.h"
#include "lib/src/activation_observer.h"
#include "lib/src/error.h"
#include "models/deepseek2.h"
#include "models/deepseek2_prefill_attention.h"
#include "models/mla_decode_attention.h"
#include "models/mla_head_products.h"
#include "quant/type_traits.h"

namespace moecpu {

namespace {

// Work areas of the MoE layer's moe_matmul calls, 64-byte aligned inside one allocation. The
// down projections reuse the gate areas: they are prepared only after every gate product is done.
struct MoeWork {
    std::vector<uint8_t> storage;
    void* routed = nullptr;     // routed gate (+ up when fused), then routed down
    void* routed_up = nullptr;  // routed up when its type differs from the gate's
    void* shared = nullptr;     // shared gate (+ up), then shared down
    void* shared_up = nullptr;

    void plan(size_t routed_bytes, size_t routed_up_bytes, size_t shared_bytes, size_t shared_up_bytes) {
        const size_t sizes[4] = {routed_bytes, routed_up_bytes, shared_bytes, shared_up_bytes};
        size_t total = 64;
        for (size_t sz : sizes) total += (sz + 63) & ~size_t(63);
        storage.assign(total, 0);
        uintptr_t p = (reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63);
        void** areas[4] = {&routed, &routed_up, &shared, &shared_up};
        for (int i = 0; i < 4; ++i) {
            *areas[i] = sizes[i] ? reinterpret_cast<void*>(p) : nullptr;
            p += (sizes[i] + 63) & ~size_t(63);
        }
    }
};

}  // namespace

struct Deepseek2State::Buffers {
    // Residual stream and its normalised copy.
    std::vector<float> x, xn;             // [n_batch][n_embd]
    std::vector<float> q_a;               // [n_batch][q_lora]
    std::vector<float> q;                 // [n_batch][n_head][qk_nope | qk_rope]
    std::vector<float> kv_a;              // [n_batch][kv_lora | qk_rope]
    std::vector<float> q_abs;             // [absorbed batch][n_head][kv_lora]: q_nope mapped through k_b
    std::vector<float> latent;            // [absorbed batch][n_head][kv_lora]: attention-weighted c_kv
    std::vector<float> heads;             // [n_batch][n_head * v_head]
    std::vector<float> scores;            // [2][n_head][n_ctx]: latent and rope parts of the scores
    std::vector<float> block_out;         // [n_batch][n_embd]: attention or FFN output
    std::vector<float> ffn_a, ffn_b;      // [n_batch][widest FFN]
    std::vector<float> router;            // [n_batch][n_expert]
    std::vector<float> probs;             // [n_expert] routing scratch (single-threaded)
    std::vector<float> select;            // [n_expert]
    std::vector<float> group_score;       // [n_group]
    std::vector<uint8_t> group_kept;      // [n_group]
    std::vector<int32_t> chosen;          // [n_expert_used]
    std::vector<int32_t> chosen_all;      // [n_batch][n_expert_used]: every token's selection
    std::vector<float> chosen_weight;     // [n_expert_used]
    std::vector<float> route_weight;      // [n_batch][n_expert_used]: final weight of each selection
    std::vector<float> moe_hidden;        // [n_batch][n_expert_used][n_ff_exp]: silu(gate)·up per selection
    std::vector<float> moe_out;           // [n_batch][n_expert_used][n_embd]: down projection per selection
    std::vector<int32_t> shared_ids;      // [n_batch] zeros: the shared experts as the one expert of every token
    MoeWork moe_work;                     // moe_matmul work areas, sized for the widest MoE layer
    int moe_threads = 1;                  // threads the MoE work areas are planned for
    std::vector<float> cache_ckv;         // [n_layer][n_ctx][kv_lora]
    std::vector<float> cache_kpe;         // [n_layer][n_ctx][qk_rope]
    std::vector<float> rope_cos, rope_sin;  // [n_ctx][qk_rope / 2]
    std::vector<uint8_t> act;             // activation rows in the weights' dot-product format
    std::vector<float> prefill;           // [prefill_threads][mla_prefill_scratch_floats]: tiles, head-product work
    int prefill_threads = 1;
    LinearScratch scratch;
    float kq_scale = 1.0f;
};

namespace {

// DeepSeek's YaRN: pairs below the correction range keep their frequency, pairs above it are
// divided by the factor, pairs inside are blended linearly.
std::vector<double> rope_frequencies(const Deepseek2Hparams& h) {
    const int64_t half = h.qk_rope / 2;
    std::vector<double> freq(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) freq[size_t(i)] = 1.0 / std::pow(double(h.rope_base), double(2 * i) / double(h.qk_rope));
    if (!h.yarn) return freq;
    const double dim = double(h.qk_rope);
    auto correction_dim = [&](double rotations) {
        return dim * std::log(double(h.yarn_orig_ctx) / (rotations * 2.0 * M_PI)) / (2.0 * std::log(double(h.rope_base)));
    };
    double low = std::max(0.0, std::floor(correction_dim(h.yarn_beta_fast)));
    double high = std::min(dim - 1.0, std::ceil(correction_dim(h.yarn_beta_slow)));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
        const double keep = 1.0 - ramp;  // share of the original frequency
        freq[size_t(i)] = freq[size_t(i)] / h.yarn_factor * (1.0 - keep) + freq[size_t(i)] * keep;
    }
    return freq;
}

MlaDims mla_dims(const Deepseek2Hparams& h) {
    return {h.n_head, h.kv_lora_rank, h.qk_nope, h.qk_rope, h.v_head};
}

// Gate and up go through one fused pass when their weights share type and layout (a
// --tensor-type override may give them different types).
bool gate_up_fusable(const WeightView& gate, const WeightView& up) {
    return gate.type == up.type && gate.row_bytes == up.row_bytes && gate.mat_bytes == up.mat_bytes;
}

// One moe_matmul over the stacked matrices of w (fused with `up` when given): rows (t, s) of x
// are multiplied with the expert ids[t][s] picks, into rows (t, s) of y. Strides in floats.
kernels::MoeMatmulArgs expert_product(const WeightView& w, const WeightView* up, const int32_t* ids, int64_t n_used,
                                      int64_t n, const float* x, int64_t x_token_stride, int64_t x_slot_stride, float* y,
                                      int64_t y_token_stride, int64_t y_slot_stride, void* work, int max_threads) {
    kernels::MoeMatmulArgs a;
    a.w_type = w.type;
    a.w = w.data;
    a.w_up = up ? up->data : nullptr;
    a.w_row_bytes = w.row_bytes;
    a.w_expert_bytes = w.mat_bytes;
    a.n_expert = w.n_mat;
    a.n_rows = w.rows;
    a.k = w.cols;
    a.ids = ids;
    a.ids_stride = n_used;
    a.n_used = n_used;
    a.n_tokens = n;
    a.x = x;
    a.x_token_stride = x_token_stride;
    a.x_slot_stride = x_slot_stride;
    a.y = y;
    a.y_token_stride = y_token_stride;
    a.y_slot_stride = y_slot_stride;
    a.work = work;
    a.max_threads = max_threads;
    return a;
}

}  // namespace

Deepseek2State::Deepseek2State(const Deepseek2Model& model, int64_t n_ctx, int64_t n_batch)
    : model_(model), n_ctx_(n_ctx), n_batch_(n_batch), b_(std::make_unique<Buffers>()) {
    const Deepseek2Hparams& h = model.hparams();
    if (n_ctx <= 0 || n_batch <= 0) fail(MOECPU_ERR_INVALID_ARGUMENT, "context and batch sizes must be positive");
    const int64_t H = h.n_head, T = n_batch;
    const int64_t ffn_width = std::max({h.n_ff, h.n_ff_exp, h.n_ff_exp * h.n_expert_shared});
    Buffers& b = *b_;
    b.x.resize(size_t(T * h.n_embd));
    b.xn.resize(size_t(T * h.n_embd));
    b.q_a.resize(size_t(T * h.q_lora_rank));
    b.q.resize(size_t(T * H * h.qk_head()));
    b.kv_a.resize(size_t(T * (h.kv_lora_rank + h.qk_rope)));
    // The absorbed form only runs for batches the non-absorbed one does not pay off for (the
    // test grows with n): per-token latent buffers for those, not for n_batch (on V3 with
    // n_batch 512, 113 tokens: 59 MB instead of 268 MB).
    int64_t absorbed_max = 1;
    while (absorbed_max < T && !mla_prefill_pays_off(mla_dims(h), absorbed_max + 1)) ++absorbed_max;
    b.q_abs.resize(size_t(absorbed_max * H * h.kv_lora_rank));
    b.latent.resize(size_t(absorbed_max * H * h.kv_lora_rank));
    b.heads.resize(size_t(T * H * h.v_head));
    b.scores.resize(size_t(2 * H) * size_t(n_ctx));
    b.block_out.resize(size_t(T * h.n_embd));
    b.ffn_a.resize(size_t(T * ffn_width));
    b.ffn_b.resize(size_t(T * ffn_width));
    b.router.resize(size_t(T * h.n_expert));
    b.probs.resize(size_t(h.n_expert));
    b.select.resize(size_t(h.n_expert));
    b.group_score.resize(size_t(h.n_group));
    b.group_kept.resize(size_t(h.n_group));
    b.chosen.resize(size_t(h.n_expert_used));
    b.chosen_all.resize(size_t(T * h.n_expert_used));
    b.chosen_weight.resize(size_t(h.n_expert_used));
    b.route_weight.resize(size_t(T * h.n_expert_used));
    plan_moe(T);
    b.cache_ckv.resize(size_t(h.n_layer * n_ctx * h.kv_lora_rank));
    b.cache_kpe.resize(size_t(h.n_layer * n_ctx * h.qk_rope));

    const int64_t widest_input = std::max({h.n_embd, h.q_lora_rank, ffn_width, H * h.v_head, h.kv_lora_rank, h.qk_nope});
    b.act.resize(linear_scratch_bytes(widest_input, std::max(T, H)));  // score matmuls take the heads as columns
    b.scratch = {b.act.data(), b.act.size()};
    // Non-absorbed MLA for batches: per-thread tiles, planned for every processor.
    b.prefill_threads = std::max(1, omp_get_num_procs());
    b.prefill.resize(size_t(b.prefill_threads) * mla_prefill_scratch_floats(mla_dims(h), T));

    const int64_t half = h.qk_rope / 2;
    const std::vector<double> freq = rope_frequencies(h);
    b.rope_cos.resize(size_t(n_ctx * half));
    b.rope_sin.resize(size_t(n_ctx * half));
    for (int64_t p = 0; p < n_ctx; ++p)
        for (int64_t i = 0; i < half; ++i) {
            // Angles in float32, as DeepSeek's reference computes them.
            const float angle = float(p) * float(freq[size_t(i)]);
            b.rope_cos[size_t(p * half + i)] = std::cos(angle);
            b.rope_sin[size_t(p * half + i)] = std::sin(angle);
        }

    b.kq_scale = 1.0f / std::sqrt(float(h.qk_head()));
    if (h.yarn && h.yarn_log_mul != 0.0f) {
        const float mscale = 1.0f + h.yarn_log_mul * std::log(h.yarn_factor);
        b.kq_scale *= mscale * mscale;
    }
}

Deepseek2State::~Deepseek2State() = default;

void Deepseek2State::forward(const int32_t* tokens, int64_t n, int64_t pos0, bool all_logits, float* logits,
                             int n_threads) {
    const Deepseek2Hparams& h = model_.hparams();
    const kernels::KernelTable& k = kernels::active();
    Buffers& b = *b_;
    if (n <= 0 || n > n_batch_) fail(MOECPU_ERR_INVALID_ARGUMENT, "batch of " + std::to_string(n) + " tokens exceeds n_batch");
    if (pos0 < 0 || pos0 + n > n_ctx_) fail(MOECPU_ERR_CONTEXT_FULL, "context is full (n_ctx = " + std::to_string(n_ctx_) + ")");

    const WeightView& embd = model_.token_embd();
    const ToFloatFn embd_to_float = traits_of(embd.type).to_float;
    for (int64_t i = 0; i < n; ++i) {
        if (tokens[i] < 0 || tokens[i] >= h.n_vocab)
            fail(MOECPU_ERR_INVALID_ARGUMENT, "token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
        embd_to_float(embd.data + size_t(tokens[i]) * embd.row_bytes, &b.x[size_t(i * h.n_embd)], h.n_embd);
    }

    for (int il = 0; il < int(h.n_layer); ++il) {
        const Deepseek2Layer& L = model_.layers()[size_t(il)];
        for (int64_t i = 0; i < n; ++i) k.rms_norm(&b.x[size_t(i * h.n_embd)], L.attn_norm.data(), &b.xn[size_t(i * h.n_embd)], h.n_embd, h.rms_eps);
        attention(L, il, n, pos0, n_threads);
        for (int64_t i = 0; i < n; ++i) k.add(&b.x[size_t(i * h.n_embd)], &b.block_out[size_t(i * h.n_embd)], &b.x[size_t(i * h.n_embd)], h.n_embd);

        for (int64_t i = 0; i < n; ++i) k.rms_norm(&b.x[size_t(i * h.n_embd)], L.ffn_norm.data(), &b.xn[size_t(i * h.n_embd)], h.n_embd, h.rms_eps);
        if (L.moe) moe(L, il, n, n_threads);
        else feed_forward(L, n, n_threads);
        for (int64_t i = 0; i < n; ++i) k.add(&b.x[size_t(i * h.n_embd)], &b.block_out[size_t(i * h.n_embd)], &b.x[size_t(i * h.n_embd)], h.n_embd);
    }

    const int64_t first = all_logits ? 0 : n - 1;
    for (int64_t i = first; i < n; ++i)
        k.rms_norm(&b.x[size_t(i * h.n_embd)], model_.output_norm().data(), &b.xn[size_t(i * h.n_embd)], h.n_embd, h.rms_eps);
    linear(model_.output(), &b.xn[size_t(first * h.n_embd)], h.n_embd, n - first, logits, h.n_vocab, b.scratch, n_threads);
}

void Deepseek2State::attention(const Deepseek2Layer& L, int il, int64_t n, int64_t pos0, int n_threads) {
    const Deepseek2Hparams& h = model_.hparams();
    const kernels::KernelTable& k = kernels::active();
    Buffers& b = *b_;
    const int64_t H = h.n_head, qk = h.qk_head(), kvl = h.kv_lora_rank, rope = h.qk_rope, half = rope / 2;
    const int64_t kv_a_width = kvl + rope;

    // Queries: [n][H][nope | rope].
    if (!L.q_a.empty()) {
        linear(L.q_a, b.xn.data(), h.n_embd, n, b.q_a.data(), h.q_lora_rank, b.scratch, n_threads);
        for (int64_t i = 0; i < n; ++i)
            k.rms_norm(&b.q_a[size_t(i * h.q_lora_rank)], L.q_a_norm.data(), &b.q_a[size_t(i * h.q_lora_rank)], h.q_lora_rank, h.rms_eps);
        linear(L.q_b, b.q_a.data(), h.q_lora_rank, n, b.q.data(), H * qk, b.scratch, n_threads);
    } else {
        linear(L.q, b.xn.data(), h.n_embd, n, b.q.data(), H * qk, b.scratch, n_threads);
    }
    // Compressed KV of the new tokens, appended to the cache: kv_norm(c_kv) and rotated k_pe.
    linear(L.kv_a_mqa, b.xn.data(), h.n_embd, n, b.kv_a.data(), kv_a_width, b.scratch, n_threads);
    float* ckv_layer = &b.cache_ckv[size_t(il) * size_t(n_ctx_ * kvl)];
    float* kpe_layer = &b.cache_kpe[size_t(il) * size_t(n_ctx_ * rope)];
    for (int64_t i = 0; i < n; ++i) {
        const int64_t pos = pos0 + i;
        const float* row = &b.kv_a[size_t(i * kv_a_width)];
        k.rms_norm(row, L.kv_a_norm.data(), ckv_layer + pos * kvl, kvl, h.rms_eps);
        std::copy(row + kvl, row + kv_a_width, kpe_layer + pos * rope);
        k.rope_interleaved(kpe_layer + pos * rope, &b.rope_cos[size_t(pos * half)], &b.rope_sin[size_t(pos * half)], rope);
        for (int64_t hd = 0; hd < H; ++hd)
            k.rope_interleaved(&b.q[size_t((i * H + hd) * qk + h.qk_nope)], &b.rope_cos[size_t(pos * half)],
                               &b.rope_sin[size_t(pos * half)], rope);
    }
    // Batches (prefill): decompress keys and values per head and attend in the plain form.
    if (mla_prefill_pays_off(mla_dims(h), n)) {
        MlaPrefillArgs pa;
        pa.dims = mla_dims(h);
        pa.q = b.q.data();
        pa.ckv = ckv_layer;
        pa.kpe = kpe_layer;
        pa.k_b = L.k_b;
        pa.v_b = L.v_b;
        pa.n = n;
        pa.pos0 = pos0;
        pa.kq_scale = b.kq_scale;
        pa.out = b.heads.data();
        pa.scratch = b.prefill.data();
        pa.n_scratch_threads = b.prefill_threads;
        mla_prefill_attention(pa, n_threads);
        linear(L.attn_out, b.heads.data(), H * h.v_head, n, b.block_out.data(), h.n_embd, b.scratch, n_threads);
        return;
    }
    // Absorb k_b into the queries: q_abs[h] = k_b[h] · q_nope[h], so scores are dot products
    // with the cached latent vectors directly.
    // Every head in one parallel region (the prefill tiles double as per-thread activation
    // scratch); one linear per head if that scratch is too small.
    auto per_head = [&](const WeightView& w, const float* x, int64_t x_stride, int64_t x_off, float* y, int64_t y_stride,
                        int64_t y_off) {
        const HeadProducts p{w, x, x_stride, x_off, y, y_stride, y_off, n, reinterpret_cast<uint8_t*>(b.prefill.data()),
                             b.prefill.size() * sizeof(float) / size_t(b.prefill_threads), b.prefill_threads};
        if (run_head_products(p, n_threads)) return;
        for (int64_t hd = 0; hd < H; ++hd) linear(w.matrix(hd), x + hd * x_off, x_stride, n, y + hd * y_off, y_stride, b.scratch, n_threads);
    };
    if (size_t(n * H * kvl) > b.q_abs.size()) fail(MOECPU_ERR_INTERNAL, "absorbed attention: batch larger than planned");
    per_head(L.k_b, b.q.data(), H * qk, qk, b.q_abs.data(), H * kvl, kvl);

    // Each token attends over the cache it sees (itself and everything before: causal).
    for (int64_t i = 0; i < n; ++i) {
        MlaDecodeArgs da;
        da.dims = mla_dims(h);
        da.q_abs = &b.q_abs[size_t(i * H * kvl)];
        da.q_pe = &b.q[size_t(i * H * qk + h.qk_nope)];
        da.q_pe_stride = qk;
        da.ckv = ckv_layer;
        da.kpe = kpe_layer;
        da.n_kv = pos0 + i + 1;
        da.kq_scale = b.kq_scale;
        da.scores = b.scores.data();
        da.scores_stride = n_ctx_;
        da.latent = &b.latent[size_t(i * H * kvl)];
        da.scratch = b.scratch;
        mla_decode_attention(da, n_threads);
    }
    // Per head, map the latent back to values, then the output projection.
    per_head(L.v_b, b.latent.data(), H * kvl, kvl, b.heads.data(), H * h.v_head, h.v_head);
    linear(L.attn_out, b.heads.data(), H * h.v_head, n, b.block_out.data(), h.n_embd, b.scratch, n_threads);
}

void Deepseek2State::feed_forward(const Deepseek2Layer& L, int64_t n, int n_threads) {
    const Deepseek2Hparams& h = model_.hparams();
    const kernels::KernelTable& k = kernels::active();
    Buffers& b = *b_;
    const int64_t ff = L.ffn_gate.rows;
    linear(L.ffn_gate, b.xn.data(), h.n_embd, n, b.ffn_a.data(), ff, b.scratch, n_threads);
    linear(L.ffn_up, b.xn.data(), h.n_embd, n, b.ffn_b.data(), ff, b.scratch, n_threads);
    k.silu_mul(b.ffn_a.data(), b.ffn_b.data(), b.ffn_a.data(), n * ff);
    linear(L.ffn_down, b.ffn_a.data(), ff, n, b.block_out.data(), h.n_embd, b.scratch, n_threads);
}

void Deepseek2State::moe(const Deepseek2Layer& L, int il, int64_t n, int n_threads) {
    const Deepseek2Hparams& h = model_.hparams();
    const kernels::KernelTable& k = kernels::active();
    Buffers& b = *b_;
    const int64_t E = h.n_expert, K = h.n_expert_used, group_size = E / h.n_group;
    constexpr float kMasked = -std::numeric_limits<float>::infinity();

    // Routing: scores from the router, a bias (if any) that steers selection only, experts
    // restricted to the best groups, top-K, weights from the unbiased scores.
    linear(L.gate_inp, b.xn.data(), h.n_embd, n, b.router.data(), E, b.scratch, n_threads);
    for (int64_t i = 0; i < n; ++i) {
        float* p = b.probs.data();
        std::copy_n(&b.router[size_t(i * E)], E, p);
        if (h.sigmoid_gating) {
            for (int64_t e = 0; e < E; ++e) p[e] = 1.0f / (1.0f + std::exp(-p[e]));
        } else {
            k.softmax(p, E);
        }
        float* sel = b.select.data();
        for (int64_t e = 0; e < E; ++e) sel[e] = p[e] + (L.exp_probs_b.empty() ? 0.0f : L.exp_probs_b[size_t(e)]);
        if (h.n_group > 1) {
            // Group score: sum of the two best biased scores (with a bias, as V3), else the best one.
            float* group_score = b.group_score.data();
            for (int64_t g = 0; g < h.n_group; ++g) {
                float best = kMasked, second = kMasked;
                for (int64_t e = g * group_size; e < (g + 1) * group_size; ++e) {
                    if (sel[e] > best) { second = best; best = sel[e]; }
                    else if (sel[e] > second) second = sel[e];
                }
                group_score[g] = L.exp_probs_b.empty() || group_size < 2 ? best : best + second;
                b.group_kept[size_t(g)] = 0;
            }
            for (int64_t kept = 0; kept < h.n_group_used; ++kept) {
                int64_t g_best = -1;
                for (int64_t g = 0; g < h.n_group; ++g)
                    if (!b.group_kept[size_t(g)] && (g_best < 0 || group_score[g] > group_score[g_best])) g_best = g;
                b.group_kept[size_t(g_best)] = 1;
            }
            for (int64_t g = 0; g < h.n_group; ++g)
                if (!b.group_kept[size_t(g)])
                    for (int64_t e = g * group_size; e < (g + 1) * group_size; ++e) sel[e] = kMasked;
        }
        float weight_sum = 0.0f;
        int32_t* chosen = b.chosen.data();
        float* chosen_w = b.chosen_weight.data();
        for (int64_t s = 0; s < K; ++s) {
            int64_t best = -1;
            for (int64_t e = 0; e < E; ++e)
                if (sel[e] != kMasked && (best < 0 || sel[e] > sel[best])) best = e;
            if (best < 0) fail(MOECPU_ERR_INTERNAL, "router found fewer eligible experts than expert_used_count");
            sel[best] = kMasked;
            chosen[s] = int32_t(best);
            chosen_w[s] = p[best];
            weight_sum += p[best];
        }
        for (int64_t s = 0; s < K; ++s) {
            float w = chosen_w[s];
            if (h.expert_weights_norm) w /= weight_sum;
            w *= h.expert_weights_scale;
            b.chosen_all[size_t(i * K + s)] = chosen[s];
            b.route_weight[size_t(i * K + s)] = w;
        }
    }

    for (RoutingObserver* o : observers_) o->on_routed(il, b.chosen_all.data(), n, K, b.xn.data());

    run_experts(L, n, n_threads);
    if (ActivationObserver* observer = activation_observer()) observe_expert_inputs(*observer, L, n);
}

void Deepseek2State::plan_moe(int64_t T) {
    const Deepseek2Hparams& h = model_.hparams();
    Buffers& b = *b_;
    const int64_t K = h.n_expert_used;
    // Every processor, or more if OMP_NUM_THREADS asks for more; a larger n_threads is clamped.
    b.moe_threads = std::max({1, omp_get_num_procs(), omp_get_max_threads()});
    auto work_size = [&](const WeightView& w, int64_t n_used) {
        return kernels::moe_matmul_work_size(
            expert_product(w, nullptr, nullptr, n_used, T, nullptr, 0, 0, nullptr, 0, 0, nullptr, b.moe_threads));
    };
    size_t routed = 0, routed_up = 0, shared = 0, shared_up = 0;
    bool any_moe = false;
    for (const Deepseek2Layer& L : model_.layers()) {
        if (!L.moe) continue;
        any_moe = true;
        routed = std::max({routed, work_size(L.gate_exps, K), work_size(L.down_exps, K)});
        if (!gate_up_fusable(L.gate_exps, L.up_exps)) routed_up = std::max(routed_up, work_size(L.up_exps, K));
        if (L.gate_shexp.empty()) continue;
        shared = std::max({shared, work_size(L.gate_shexp, 1), work_size(L.down_shexp, 1)});
        if (!gate_up_fusable(L.gate_shexp, L.up_shexp)) shared_up = std::max(shared_up, work_size(L.up_shexp, 1));
    }
    if (!any_moe) return;
    b.moe_work.plan(routed, routed_up, shared, shared_up);
    b.moe_hidden.resize(size_t(T * K * h.n_ff_exp));
    // Also holds the up products of an unfused gate / up pair.
    b.moe_out.resize(size_t(T * K * std::max(h.n_embd, h.n_ff_exp)));
    b.shared_ids.assign(size_t(T), 0);
}

// Routed and shared experts of one MoE layer in ONE parallel region, with barriers between the
// phases: gate·up (fused with SiLU) → down → weighted sum. Each expert's weights stream once per
// batch for all the tokens that chose it; the threads take each phase's work by cost.
// Threading stays OpenMP, by measurement (tests/sync-cost, 2 threads, libgomp's default wait
// policy, chrt -f 10 on the 2-core EPYC): a region costs 0.43 µs back to back and 0.6 µs after
// 1 ms of serial work, a barrier 0.19 µs; a spinning pool would save ~0.35 µs per region (0.09 µs
// wake + join) and ~0.14 µs per barrier (0.05 µs spin barrier). At ~50 regions per decoded token
// that is ~20 µs of a ~40 ms token, below the run-to-run noise. What costs is the faster thread
// waiting for the slower one at the end of each phase: 3 linears per selected expert (27 regions
// per layer at 8 + 1 experts) became one region with 4 barriers, and the drivers take work from a
// guided queue instead of a static split (work_queue.h); libgomp's share of decode samples (perf,
// v3-q4k, 2 threads) fell from 7-8 % to 5.6 % with the one region and to ~2 % with the queue.
// The router stays outside: its f32 product may go to oneDNN, which cannot run inside a region.
void Deepseek2State::run_experts(const Deepseek2Layer& L, int64_t n, int n_threads) {
    const Deepseek2Hparams& h = model_.hparams();
    const kernels::KernelTable& k = kernels::active();
    Buffers& b = *b_;
    const int64_t K = h.n_expert_used, n_embd = h.n_embd, ff = L.gate_exps.rows;
    const int mt = b.moe_threads;
    const MoeWork& work = b.moe_work;
    using kernels::MoeMatmulArgs;

    // Routed experts: hidden[t][s] = silu(gate_e · xn[t]) * (up_e · xn[t]), out[t][s] = down_e · hidden[t][s].
    const bool routed_fused = gate_up_fusable(L.gate_exps, L.up_exps);
    float* routed_up_out = b.moe_out.data();  // unfused only: up products, consumed before the down projection
    const MoeMatmulArgs routed_gate = expert_product(L.gate_exps, routed_fused ? &L.up_exps : nullptr, b.chosen_all.data(), K, n,
                                                     b.xn.data(), n_embd, 0, b.moe_hidden.data(), K * ff, ff, work.routed, mt);
    MoeMatmulArgs routed_up;
    if (!routed_fused)
        routed_up = expert_product(L.up_exps, nullptr, b.chosen_all.data(), K, n, b.xn.data(), n_embd, 0, routed_up_out, K * ff,
                                   ff, work.routed_up, mt);
    const MoeMatmulArgs routed_down = expert_product(L.down_exps, nullptr, b.chosen_all.data(), K, n, b.moe_hidden.data(), K * ff,
                                                     ff, b.moe_out.data(), K * n_embd, n_embd, work.routed, mt);
    // Shared experts: one expert every token picks, its output straight into block_out.
    const bool has_shared = !L.gate_shexp.empty();
    const int64_t sh = has_shared ? L.gate_shexp.rows : 0;
    const bool shared_fused = has_shared && gate_up_fusable(L.gate_shexp, L.up_shexp);
    MoeMatmulArgs shared_gate, shared_up, shared_down;
    if (has_shared) {
        const int32_t* ids = b.shared_ids.data();
        shared_gate = expert_product(L.gate_shexp, shared_fused ? &L.up_shexp : nullptr, ids, 1, n, b.xn.data(), n_embd, 0,
                                     b.ffn_a.data(), sh, 0, work.shared, mt);
        if (!shared_fused)
            shared_up = expert_product(L.up_shexp, nullptr, ids, 1, n, b.xn.data(), n_embd, 0, b.ffn_b.data(), sh, 0, work.shared_up, mt);
        shared_down = expert_product(L.down_shexp, nullptr, ids, 1, n, b.ffn_a.data(), sh, 0, b.block_out.data(), n_embd, 0, work.shared,
                                     mt);
    }
    const bool any_unfused = !routed_fused || (has_shared && !shared_fused);
    const float* weights = b.route_weight.data();
    const float* expert_out = b.moe_out.data();
    float* block_out = b.block_out.data();
    // The weighted sum works on column blocks of each token, so one token still splits over threads.
    constexpr int64_t kSumBlock = 512;
    const int64_t sum_blocks = (n_embd + kSumBlock - 1) / kSumBlock;

    auto phases = [&](int ith, int nth) {
        kernels::moe_matmul_prepare(routed_gate, ith, nth);
        if (!routed_fused) kernels::moe_matmul_prepare(routed_up, ith, nth);
        if (has_shared) kernels::moe_matmul_prepare(shared_gate, ith, nth);
        if (has_shared && !shared_fused) kernels::moe_matmul_prepare(shared_up, ith, nth);
#pragma omp barrier
        kernels::moe_matmul_compute(routed_gate, ith, nth);
        if (!routed_fused) kernels::moe_matmul_compute(routed_up, ith, nth);
        if (has_shared) kernels::moe_matmul_compute(shared_gate, ith, nth);
        if (has_shared && !shared_fused) kernels::moe_matmul_compute(shared_up, ith, nth);
#pragma omp barrier
        if (any_unfused) {
            if (!routed_fused) {
                const kernels::Range r = kernels::split_evenly(n * K * ff, ith, nth);
                k.silu_mul(b.moe_hidden.data() + r.begin, routed_up_out + r.begin, b.moe_hidden.data() + r.begin, r.end - r.begin);
            }
            if (has_shared && !shared_fused) {
                const kernels::Range r = kernels::split_evenly(n * sh, ith, nth);
                k.silu_mul(b.ffn_a.data() + r.begin, b.ffn_b.data() + r.begin, b.ffn_a.data() + r.begin, r.end - r.begin);
            }
#pragma omp barrier
        }
        kernels::moe_matmul_prepare(routed_down, ith, nth);
        if (has_shared) kernels::moe_matmul_prepare(shared_down, ith, nth);
#pragma omp barrier
        kernels::moe_matmul_compute(routed_down, ith, nth);
        if (has_shared) kernels::moe_matmul_compute(shared_down, ith, nth);
#pragma omp barrier
        const kernels::Range mine = kernels::split_evenly(n * sum_blocks, ith, nth);
        for (int64_t item = mine.begin; item < mine.end; ++item) {
            const int64_t t = item / sum_blocks, c0 = (item % sum_blocks) * kSumBlock, len = std::min(kSumBlock, n_embd - c0);
            float* out = block_out + t * n_embd + c0;
            if (!has_shared) std::fill(out, out + len, 0.0f);
            for (int64_t s = 0; s < K; ++s) k.axpy(weights[t * K + s], expert_out + (t * K + s) * n_embd + c0, out, len);
        }
    };
    // A decode step of a small model is done before a second thread would have joined (fork_threshold.h).
    auto macs = [](const WeightView& w) { return w.rows * w.cols; };
    const int64_t per_token = K * (macs(L.gate_exps) + macs(L.up_exps) + macs(L.down_exps)) +
                              (has_shared ? macs(L.gate_shexp) + macs(L.up_shexp) + macs(L.down_shexp) : 0);
    const int nt = std::min(kernels::threads_for_work(n * per_token, n_threads), mt);
    kernels::run_on_team(nt, phases);
}

// For an installed ActivationObserver (moe-imatrix): the expert inputs the products above read,
// reported per expert matrix and per selection, as one linear() per expert would have.
void Deepseek2State::observe_expert_inputs(ActivationObserver& observer, const Deepseek2Layer& L, int64_t n) {
    const Deepseek2Hparams& h = model_.hparams();
    Buffers& b = *b_;
    const int64_t K = h.n_expert_used, ff = L.gate_exps.rows;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t s = 0; s < K; ++s) {
            const int32_t e = b.chosen_all[size_t(t * K + s)];
            const float* xn = &b.xn[size_t(t * h.n_embd)];
            observer.observe(L.gate_exps.matrix(e), xn, h.n_embd, 1);
            observer.observe(L.up_exps.matrix(e), xn, h.n_embd, 1);
            observer.observe(L.down_exps.matrix(e), &b.moe_hidden[size_t((t * K + s) * ff)], ff, 1);
        }
    if (L.gate_shexp.empty()) return;
    observer.observe(L.gate_shexp, b.xn.data(), h.n_embd, n);
    observer.observe(L.up_shexp, b.xn.data(), h.n_embd, n);
    observer.observe(L.down_shexp, b.ffn_a.data(), L.gate_shexp.rows, n);
}

}  // namespace moecpu
