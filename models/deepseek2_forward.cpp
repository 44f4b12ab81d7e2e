// The deepseek2 forward pass, written to be read top to bottom; speed lives in the kernels.
// Per layer: RMSNorm → MLA attention (absorbed form: queries are mapped into the compressed
// latent space, so the cache holds only kv_norm(c_kv) and the rotated k_pe per token; batches
// past a measured size decompress keys and values instead: deepseek2_prefill_attention.cpp) →
// RMSNorm → dense FFN or routed experts + shared experts.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu-kernels/dispatch.h"
#include "lib/src/error.h"
#include "models/deepseek2.h"
#include "models/deepseek2_prefill_attention.h"
#include "models/mla_decode_attention.h"
#include "models/mla_head_products.h"
#include "quant/type_traits.h"

namespace moecpu {

struct Deepseek2State::Buffers {
    // Residual stream and its normalised copy.
    std::vector<float> x, xn;             // [n_batch][n_embd]
    std::vector<float> q_a;               // [n_batch][q_lora]
    std::vector<float> q;                 // [n_batch][n_head][qk_nope | qk_rope]
    std::vector<float> kv_a;              // [n_batch][kv_lora | qk_rope]
    std::vector<float> q_abs;             // [n_batch][n_head][kv_lora]: q_nope mapped through k_b
    std::vector<float> latent;            // [n_batch][n_head][kv_lora]: attention-weighted c_kv
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
    std::vector<int32_t> expert_count;    // [n_expert]
    std::vector<int32_t> expert_token;    // [n_expert][n_batch]
    std::vector<float> expert_weight;     // [n_expert][n_batch]
    std::vector<float> gathered;          // [n_batch][n_embd]
    std::vector<float> expert_out;        // [n_batch][n_embd]
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
    b.q_abs.resize(size_t(T * H * h.kv_lora_rank));
    b.latent.resize(size_t(T * H * h.kv_lora_rank));
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
    b.expert_count.resize(size_t(h.n_expert));
    b.expert_token.resize(size_t(h.n_expert * T));
    b.expert_weight.resize(size_t(h.n_expert * T));
    b.gathered.resize(size_t(T * h.n_embd));
    b.expert_out.resize(size_t(T * h.n_embd));
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
    std::fill(b.expert_count.begin(), b.expert_count.end(), 0);
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
            const int32_t e = chosen[s];
            b.chosen_all[size_t(i * K + s)] = e;
            const int32_t slot = b.expert_count[size_t(e)]++;
            b.expert_token[size_t(e * n_batch_ + slot)] = int32_t(i);
            b.expert_weight[size_t(e * n_batch_ + slot)] = w;
        }
    }

    for (RoutingObserver* o : observers_) o->on_routed(il, b.chosen_all.data(), n, K, b.xn.data());

    // Each selected expert runs once over all its tokens, so its weights stream once per batch.
    std::fill(b.block_out.begin(), b.block_out.begin() + n * h.n_embd, 0.0f);
    const int64_t ff = h.n_ff_exp;
    for (int64_t e = 0; e < E; ++e) {
        const int64_t cnt = b.expert_count[size_t(e)];
        if (cnt == 0) continue;
        for (int64_t j = 0; j < cnt; ++j) {
            const int64_t tok = b.expert_token[size_t(e * n_batch_ + j)];
            std::copy_n(&b.xn[size_t(tok * h.n_embd)], h.n_embd, &b.gathered[size_t(j * h.n_embd)]);
        }
        linear(L.gate_exps.matrix(e), b.gathered.data(), h.n_embd, cnt, b.ffn_a.data(), ff, b.scratch, n_threads);
        linear(L.up_exps.matrix(e), b.gathered.data(), h.n_embd, cnt, b.ffn_b.data(), ff, b.scratch, n_threads);
        k.silu_mul(b.ffn_a.data(), b.ffn_b.data(), b.ffn_a.data(), cnt * ff);
        linear(L.down_exps.matrix(e), b.ffn_a.data(), ff, cnt, b.expert_out.data(), h.n_embd, b.scratch, n_threads);
        for (int64_t j = 0; j < cnt; ++j) {
            const int64_t tok = b.expert_token[size_t(e * n_batch_ + j)];
            k.axpy(b.expert_weight[size_t(e * n_batch_ + j)], &b.expert_out[size_t(j * h.n_embd)], &b.block_out[size_t(tok * h.n_embd)], h.n_embd);
        }
    }
    if (!L.gate_shexp.empty()) {
        const int64_t sh = L.gate_shexp.rows;
        linear(L.gate_shexp, b.xn.data(), h.n_embd, n, b.ffn_a.data(), sh, b.scratch, n_threads);
        linear(L.up_shexp, b.xn.data(), h.n_embd, n, b.ffn_b.data(), sh, b.scratch, n_threads);
        k.silu_mul(b.ffn_a.data(), b.ffn_b.data(), b.ffn_a.data(), n * sh);
        linear(L.down_shexp, b.ffn_a.data(), sh, n, b.expert_out.data(), h.n_embd, b.scratch, n_threads);
        for (int64_t i = 0; i < n; ++i)
            k.add(&b.block_out[size_t(i * h.n_embd)], &b.expert_out[size_t(i * h.n_embd)], &b.block_out[size_t(i * h.n_embd)], h.n_embd);
    }
}

}  // namespace moecpu
