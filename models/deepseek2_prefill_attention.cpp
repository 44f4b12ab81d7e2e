#include "models/deepseek2_prefill_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/matmul.h"
#include "lib/src/dense_gemm.h"
#include "quant/type_traits.h"

namespace moecpu {
namespace {

// Keys per tile: the tile's keys, values and scores stay in L2 while every query row uses them.
constexpr int64_t kKeyTile = 128;
// Rows of a diagonal tile computed against its first keys only (oneDNN at 64 rows still runs at
// ~70-90 % of its 128-row speed; 32 rows fell to ~55 %).
constexpr int64_t kSplitRows = kKeyTile / 2;

// Per-thread scratch, carved from one float block.
struct HeadScratch {
    float* wk;    // k_b of one head in f32: as stored [kv_lora][qk_nope] for BLAS, else transposed
    float* wv;    // [v_head][kv_lora]   v_b of one head in f32
    float* row;   // [max(qk_nope, kv_lora)] one dequantized weight row
    float* keys;  // [kKeyTile][qk_nope | qk_rope]
    float* v_t;   // [v_head][kKeyTile]  values of the tile, transposed for the P·V product
    float* p;     // [n_batch][kKeyTile] scores, then probabilities
    float* pv;    // [n_batch][v_head]
    float* m;     // [n_batch] running max of each query's scores
    float* l;     // [n_batch] running sum of exp(score - m)
    float* alpha; // [n_batch] this tile's rescaling of each query's earlier output, exp(m_old - m)
};

HeadScratch carve(const MlaDims& d, int64_t n_batch, float* base) {
    HeadScratch s;
    s.wk = base;
    s.wv = s.wk + d.qk_nope * d.kv_lora;
    s.row = s.wv + d.v_head * d.kv_lora;
    s.keys = s.row + std::max(d.qk_nope, d.kv_lora);
    s.v_t = s.keys + kKeyTile * d.qk_head();
    s.p = s.v_t + d.v_head * kKeyTile;
    s.pv = s.p + n_batch * kKeyTile;
    s.m = s.pv + n_batch * d.v_head;
    s.l = s.m + n_batch;
    s.alpha = s.l + n_batch;
    return s;
}

// y[n][rows] = w[rows][k] · x[n][k]^T in f32 on the calling thread alone (strides in floats):
// oneDNN's sgemm where the build has it, else the kernel table's f32 tiles.
void gemm_f32(const float* w, int64_t w_stride, int64_t rows, int64_t k, const float* x, int64_t x_stride, int64_t n,
              float* y, int64_t y_stride) {
    if (dense_gemm_f32_serial(x, x_stride, n, w, w_stride, rows, k, y, y_stride)) return;
    kernels::MatmulArgs a;
    a.w_type = GgmlType::F32;
    a.w = w;
    a.w_row_bytes = size_t(w_stride) * sizeof(float);
    a.n_rows = rows;
    a.k = k;
    a.x = x;
    a.x_stride = x_stride;
    a.n_tokens = n;
    a.y = y;
    a.y_stride = y_stride;
    kernels::matmul_thread(a, 0, 1);
}

// One head's decompression weights in f32: k_b ([kv_lora][nope] for BLAS, which multiplies it as
// stored; transposed to [nope][kv_lora] for the kernel table's "rows produce outputs" tiles) and v_b.
void load_head_weights(const MlaPrefillArgs& a, int64_t hd, const HeadScratch& s) {
    const MlaDims& d = a.dims;
    const WeightView kb = a.k_b.matrix(hd), vb = a.v_b.matrix(hd);
    const ToFloatFn kb_to_float = traits_of(kb.type).to_float, vb_to_float = traits_of(vb.type).to_float;
    for (int64_t c = 0; c < d.kv_lora; ++c) {
        if (dense_gemm_available()) {
            kb_to_float(kb.data + size_t(c) * kb.row_bytes, s.wk + c * d.qk_nope, d.qk_nope);
            continue;
        }
        kb_to_float(kb.data + size_t(c) * kb.row_bytes, s.row, d.qk_nope);
        for (int64_t j = 0; j < d.qk_nope; ++j) s.wk[j * d.kv_lora + c] = s.row[j];
    }
    for (int64_t r = 0; r < d.v_head; ++r) vb_to_float(vb.data + size_t(r) * vb.row_bytes, s.wv + r * d.kv_lora, d.kv_lora);
}

// Keys' nope part [nt][nope] (rows qk apart) = latents [nt][kv_lora] · k_b, in s.wk's layout.
void decompress_keys(const MlaDims& d, const float* ckv, int64_t nt, const HeadScratch& s) {
    const int64_t qk = d.qk_head();
    if (!dense_gemm_available()) {
        gemm_f32(s.wk, d.kv_lora, d.qk_nope, d.kv_lora, ckv, d.kv_lora, nt, s.keys, qk);
        return;
    }
    if (dense_gemm_f32_nn_serial(ckv, d.kv_lora, nt, s.wk, d.qk_nope, d.qk_nope, d.kv_lora, s.keys, qk)) return;
    for (int64_t t = 0; t < nt; ++t) {  // oneDNN refused (it never has for these sizes): plain loops
        float* key = s.keys + t * qk;
        std::fill_n(key, d.qk_nope, 0.0f);
        for (int64_t c = 0; c < d.kv_lora; ++c)
            for (int64_t j = 0; j < d.qk_nope; ++j) key[j] += ckv[t * d.kv_lora + c] * s.wk[c * d.qk_nope + j];
    }
}

// Attention of every new token to keys [t0, t0 + nt) of head hd, folded into the running softmax
// state (m, l) and the output rows: unnormalised until a row's last tile (the one holding its own
// position), which divides by l. The first tile (t0 = 0, seen by every row) writes the rows
// without reading them.
void attend_tile(const MlaPrefillArgs& a, int64_t hd, int64_t t0, int64_t nt, const HeadScratch& s) {
    const MlaDims& d = a.dims;
    const int64_t qk = d.qk_head(), H = d.n_head;
    const float* ckv = a.ckv + t0 * d.kv_lora;

    // Keys [nt][nope | rope]: decompressed nope part next to the cached rotated rope part.
    decompress_keys(d, ckv, nt, s);
    for (int64_t t = 0; t < nt; ++t)
        std::copy_n(a.kpe + (t0 + t) * d.qk_rope, d.qk_rope, s.keys + t * qk + d.qk_nope);
    // Values transposed [v_head][nt]: the cached latents act as the weight rows.
    gemm_f32(ckv, d.kv_lora, nt, d.kv_lora, s.wv, d.kv_lora, d.v_head, s.v_t, kKeyTile);

    // Queries before position t0 see none of these keys (causal).
    const int64_t i0 = std::max<int64_t>(0, t0 - a.pos0), rows = a.n - i0;
    if (rows <= 0) return;
    // On the diagonal the first kSplitRows rows see at most that many keys: their products stop
    // there (the causal triangle's masked half shrinks from nt²/2 to nt²/4 products).
    const int64_t split_keys = std::min(nt, a.pos0 + i0 + kSplitRows - t0);
    const int64_t split = split_keys < nt && rows > kSplitRows ? kSplitRows : 0;
    const float* q = a.q + (i0 * H + hd) * qk;
    if (split) gemm_f32(s.keys, qk, split_keys, qk, q, H * qk, split, s.p, kKeyTile);
    gemm_f32(s.keys, qk, nt, qk, q + split * H * qk, H * qk, rows - split, s.p + split * kKeyTile, kKeyTile);

    const kernels::KernelTable& k = kernels::active();
    for (int64_t j = 0; j < rows; ++j) {
        const int64_t i = i0 + j;
        const int64_t visible = std::min(nt, a.pos0 + i - t0 + 1);  // >= 1 by the choice of i0
        float* p = s.p + j * kKeyTile;
        // kq_scale > 0, so the largest scaled score is the scale times the largest raw one.
        const float m_new = std::max(s.m[i], a.kq_scale * k.max_of(p, visible));
        s.alpha[j] = std::exp(s.m[i] - m_new);  // 0 on the first tile (m = -inf)
        const float sum = k.exp_scaled_sum(p, a.kq_scale, m_new, visible);
        std::fill(p + visible, p + (j < split ? split_keys : nt), 0.0f);
        s.m[i] = m_new;
        s.l[i] = s.l[i] * s.alpha[j] + sum;
    }
    // Output rows = alpha · rows + P · V, normalised on each row's last tile.
    if (split) gemm_f32(s.v_t, kKeyTile, d.v_head, split_keys, s.p, kKeyTile, split, s.pv, d.v_head);
    gemm_f32(s.v_t, kKeyTile, d.v_head, nt, s.p + split * kKeyTile, kKeyTile, rows - split, s.pv + split * d.v_head,
             d.v_head);
    for (int64_t j = 0; j < rows; ++j) {
        const int64_t i = i0 + j;
        float* o = a.out + i * H * d.v_head + hd * d.v_head;
        const float* pv = s.pv + j * d.v_head;
        const float norm = a.pos0 + i < t0 + nt ? 1.0f / s.l[i] : 1.0f;
        if (t0 == 0) {
            for (int64_t c = 0; c < d.v_head; ++c) o[c] = pv[c] * norm;
        } else {
            const float alpha = s.alpha[j];
            for (int64_t c = 0; c < d.v_head; ++c) o[c] = (o[c] * alpha + pv[c]) * norm;
        }
    }
}

}  // namespace

bool mla_prefill_pays_off(const MlaDims& d, int64_t n_tokens) {
    // Multiply-adds per head and cached position: absorbed ~ n·(2·kv_lora + rope) (scores against
    // the latent + rope cache, then the latent-weighted sum); non-absorbed ~ kv_lora·(nope + v)
    // to decompress plus n·(nope + rope + v). Crossover n > kv_lora·(nope+v) / (2·kv_lora − nope − v):
    // 43 tokens on the tiny fixture, 171 on DeepSeek-V3. The non-absorbed form is all GEMMs, the
    // absorbed one per-token products and axpys, so the former does more per second. Measured on
    // a DeepSeek-V3-shaped 2-layer Q4_K model (moe-bench -p P -n 0 -t 2, chrt -f 10, prompt tok/s,
    // absorbed vs non-absorbed for the whole prompt): P=16 133 vs 107, 32 134 vs 136, 64 147 vs 133,
    // 128 151 vs 155, 512 129 vs 151, 1536 89 vs 127 (attention alone ~3x faster there).
    // Re-measured once the tiles' softmax ran on the kernel table (AVX-512) and k_b went to oneDNN
    // untransposed (4-layer model, same command, absorbed vs non-absorbed): P=32 130.9 vs 130.5
    // (tie), 48 138 vs 145, 64 143 vs 154, 96 157 vs 161. kPrefillEfficiency = 4 puts the
    // crossover at 43 tokens (tiny fixture: 11).
    const int64_t saved_per_token = 2 * d.kv_lora - d.qk_nope - d.v_head;
    if (n_tokens < 2 || saved_per_token <= 0) return false;
    constexpr double kPrefillEfficiency = 4.0;
    return double(n_tokens) * double(saved_per_token) * kPrefillEfficiency > double(d.kv_lora * (d.qk_nope + d.v_head));
}

size_t mla_prefill_scratch_floats(const MlaDims& d, int64_t n_batch) {
    return size_t(d.qk_nope * d.kv_lora + d.v_head * d.kv_lora + std::max(d.qk_nope, d.kv_lora) + kKeyTile * d.qk_head() +
                  d.v_head * kKeyTile + n_batch * kKeyTile + n_batch * d.v_head + 3 * n_batch);
}

void mla_prefill_attention(const MlaPrefillArgs& a, int n_threads) {
    const MlaDims& d = a.dims;
    const int64_t n_kv = a.pos0 + a.n;
    const size_t per_thread = mla_prefill_scratch_floats(d, a.n);
    const int team = std::max(1, std::min(n_threads, a.n_scratch_threads));
    // Heads are independent and equally costly: a static split over the team.
#pragma omp parallel num_threads(team)
    {
        const int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        const HeadScratch s = carve(d, a.n, a.scratch + size_t(ith) * per_thread);
        for (int64_t hd = d.n_head * ith / nth; hd < d.n_head * (ith + 1) / nth; ++hd) {
            load_head_weights(a, hd, s);
            std::fill(s.m, s.m + a.n, -std::numeric_limits<float>::infinity());
            std::fill(s.l, s.l + a.n, 0.0f);
            for (int64_t t0 = 0; t0 < n_kv; t0 += kKeyTile) attend_tile(a, hd, t0, std::min(kKeyTile, n_kv - t0), s);
        }
    }
}

}  // namespace moecpu
