#include "models/mla_decode_attention.h"

#include <algorithm>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/fork_threshold.h"
#include "lib/src/dense_gemm.h"

namespace moecpu {
namespace {

// The first n_rows cached vectors of a layer viewed as an f32 matrix [n_rows][width].
WeightView cache_rows(const float* cache, int64_t width, int64_t n_rows) {
    WeightView v;
    v.type = GgmlType::F32;
    v.data = reinterpret_cast<const uint8_t*>(cache);
    v.cols = width;
    v.rows = n_rows;
    v.row_bytes = size_t(width) * sizeof(float);
    v.mat_bytes = v.row_bytes * size_t(n_rows);
    return v;
}

// latent[h] = Σ_t p[h][t] · ckv[t] without a BLAS: blocks of positions stay in cache while every
// head of this thread accumulates from them.
void weighted_sum_by_axpy(const MlaDecodeArgs& a, const float* p, int n_threads) {
    const kernels::KernelTable& k = kernels::active();
    const int64_t H = a.dims.n_head, kvl = a.dims.kv_lora;
    auto heads = [&](int ith, int nth) {
        const int64_t h0 = H * ith / nth, h1 = H * (ith + 1) / nth;
        std::fill(a.latent + h0 * kvl, a.latent + h1 * kvl, 0.0f);
        constexpr int64_t kBlock = 32;
        for (int64_t t0 = 0; t0 < a.n_kv; t0 += kBlock) {
            const int64_t t1 = std::min(a.n_kv, t0 + kBlock);
            for (int64_t hd = h0; hd < h1; ++hd)
                for (int64_t t = t0; t < t1; ++t) k.axpy(p[hd * a.scores_stride + t], a.ckv + t * kvl, a.latent + hd * kvl, kvl);
        }
    };
    kernels::run_on_team(n_threads, heads);
}

// Scaled scores → probabilities for heads [h0, h1).
void softmax_heads(const MlaDecodeArgs& a, float* s_lat, const float* s_pe, int64_t h0, int64_t h1) {
    const kernels::KernelTable& k = kernels::active();
    const int64_t stride = a.scores_stride;
    for (int64_t hd = h0; hd < h1; ++hd) {
        float* sc = s_lat + hd * stride;
        const float* pe = s_pe + hd * stride;
        for (int64_t t = 0; t < a.n_kv; ++t) sc[t] = a.kq_scale * (sc[t] + pe[t]);
        k.softmax(sc, a.n_kv);
    }
}

// A score's add, scale, exp and normalisation, in multiply-adds of a quantized matvec (one
// vector pass each at ~1 score per cycle, against ~12 multiply-adds per cycle).
constexpr int64_t kSoftmaxMacsPerScore = 16;

}  // namespace

void mla_decode_attention(const MlaDecodeArgs& a, int n_threads) {
    const int64_t H = a.dims.n_head, kvl = a.dims.kv_lora, rope = a.dims.qk_rope, stride = a.scores_stride;
    float* s_lat = a.scores;               // [H][stride]
    float* s_pe = a.scores + H * stride;   // [H][stride]
    // Scores of all heads: the cache rows act as the weight matrix, the heads as its columns.
    linear(cache_rows(a.ckv, kvl, a.n_kv), a.q_abs, kvl, H, s_lat, stride, a.scratch, n_threads);
    linear(cache_rows(a.kpe, rope, a.n_kv), a.q_pe, a.q_pe_stride, H, s_pe, stride, a.scratch, n_threads);
    // Each fork below sized by its own work: near the start of a context, all of it is small.
    const int softmax_team = std::min(kernels::threads_for_work(H * a.n_kv * kSoftmaxMacsPerScore, n_threads), int(H));
    kernels::run_on_team(softmax_team, [&](int ith, int nth) { softmax_heads(a, s_lat, s_pe, H * ith / nth, H * (ith + 1) / nth); });
    // The weighted sum is probabilities [H][n_kv] times the cache [n_kv][kv_lora]. Measured on V3
    // shapes (128 heads, 2 threads, per layer and token): oneDNN's sgemm 0.64 ms at a depth of
    // 2048 and 0.09 ms at 256, against 5.3 ms and 0.68 ms for the per-(head, position) axpys
    // (which remain the fallback); at depth 0 both cost the same.
    const int sum_team = kernels::threads_for_work(H * a.n_kv * kvl, n_threads);
    if (dense_gemm_f32_nn(s_lat, stride, H, a.ckv, kvl, kvl, a.n_kv, a.latent, kvl, sum_team)) return;
    weighted_sum_by_axpy(a, s_lat, sum_team);
}

}  // namespace moecpu
