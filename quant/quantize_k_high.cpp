// Quantization of Q4_K, Q5_K, Q6_K (ggml's algorithms) and the Q8_K activation format
// (bit-exact with ggml's quantize_row_q8_K_ref; the kernels rely on it).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "quant/block_formats.h"
#include "quant/fp16.h"
#include "quant/k_common.h"
#include "quant/k_packing.h"
#include "quant/quant_search.h"
#include "quant/quantize_ref.h"

namespace moecpu {

using kquant::imatrix_weights;
using kquant::sum_squares;
using qsearch::kGroupMaxEps;
using qsearch::make_qkx_quants;
using qsearch::make_qp_quants;
using qsearch::make_qx_quants;
using qsearch::nearest_int;

namespace {

// ---- Q4_K / Q5_K: 8 sub-blocks of 32, asymmetric, 6-bit scales and mins ----

// Plain path: weights av_x + |x| per sub-block, scales / mins linear to 6 bits against their max.
// `rmin, rdelta, nstep` are the search ranges ggml uses for each format.
void kx_scales_ref(const float* x, int nmax, float rmin, float rdelta, int nstep, uint8_t* L,
                   uint8_t scales_out[12], uint16_t* d_out, uint16_t* dmin_out) {
    float mins[QK_K / 32], scales[QK_K / 32], w[32];
    uint8_t Laux[32];
    float max_scale = 0.f, max_min = 0.f;
    for (int j = 0; j < QK_K / 32; ++j) {
        const float av_x = std::sqrt(sum_squares(x + 32 * j, 32) / 32.f);
        for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
        scales[j] = make_qkx_quants(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0.f ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0.f ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < QK_K / 32; ++j) {
        ls[j] = uint8_t(std::clamp(nearest_int(inv_scale * scales[j]), 0, 63));
        lm[j] = uint8_t(std::clamp(nearest_int(inv_min * mins[j]), 0, 63));
    }
    pack_scale_min_k4(ls, lm, scales_out);
    *d_out = fp32_to_fp16(max_scale / 63.f);
    *dmin_out = fp32_to_fp16(max_min / 63.f);
}

// Weighted path: imatrix weights (or av_x + |x| without one), a wider search, and the 6-bit
// scales / mins fitted by make_qp_quants weighted by each sub-block's total weight.
void kx_scales_weighted(const float* x, const float* qw, int nmax, uint8_t* L, uint8_t scales_out[12],
                        uint16_t* d_out, uint16_t* dmin_out) {
    float mins[QK_K / 32], scales[QK_K / 32], sw[QK_K / 32], w[32];
    uint8_t Laux[32], ls[8], lm[8];
    const float sigma2 = 2.f * sum_squares(x, QK_K) / QK_K;
    const float av_x = std::sqrt(sigma2);
    for (int j = 0; j < QK_K / 32; ++j) {
        if (qw) imatrix_weights(x + 32 * j, qw + 32 * j, sigma2, w, 32);
        else for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
        sw[j] = 0.f;
        for (int l = 0; l < 32; ++l) sw[j] += w[l];
        scales[j] = make_qkx_quants(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }
    const float d_block = make_qp_quants(QK_K / 32, 63, scales, ls, sw);
    const float m_block = make_qp_quants(QK_K / 32, 63, mins, lm, sw);
    pack_scale_min_k4(ls, lm, scales_out);
    *d_out = fp32_to_fp16(d_block);
    *dmin_out = fp32_to_fp16(m_block);
}

// Levels from the stored scales: L = round((x + m) / d) in [0, nmax].
void kx_requantize(const float* x, int nmax, const uint8_t scales[12], uint16_t d16, uint16_t dmin16, uint8_t* L) {
    const float dall = fp16_to_fp32(d16), mall = fp16_to_fp32(dmin16);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, scales, &sc, &m);
        const float d = dall * float(sc);
        if (d == 0.f) continue;
        const float dm = mall * float(m);
        for (int ii = 0; ii < 32; ++ii)
            L[32 * j + ii] = uint8_t(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
}

// Q4_K nibbles: in each 64-element chunk byte l holds element l (low) and l + 32 (high).
void q4_K_pack(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < QK_K; j += 64, qs += 32)
        for (int l = 0; l < 32; ++l) qs[l] = uint8_t((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
}

// Q5_K: nibbles as Q4_K; the fifth bit of element 64 c + l goes to bit 2c of qh[l], that of
// element 64 c + 32 + l to bit 2c + 1.
void q5_K_pack(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
    q4_K_pack(L, qs);
    std::memset(qh, 0, QK_K / 8);
    for (int c = 0; c < QK_K / 64; ++c) {
        for (int l = 0; l < 32; ++l) {
            qh[l] = uint8_t(qh[l] | (((L[64 * c + l] >> 4) & 1) << (2 * c)) |
                            (((L[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1)));
        }
    }
}

void q4_K_block(const float* x, block_q4_K& b, const float* qw, bool weighted) {
    uint8_t L[QK_K];
    if (weighted) kx_scales_weighted(x, qw, 15, L, b.scales, &b.d, &b.dmin);
    else kx_scales_ref(x, 15, -1.f, 0.1f, 20, L, b.scales, &b.d, &b.dmin);
    kx_requantize(x, 15, b.scales, b.d, b.dmin, L);
    q4_K_pack(L, b.qs);
}

void q5_K_block(const float* x, block_q5_K& b, const float* qw, bool weighted) {
    uint8_t L[QK_K];
    if (weighted) kx_scales_weighted(x, qw, 31, L, b.scales, &b.d, &b.dmin);
    else kx_scales_ref(x, 31, -0.5f, 0.1f, 15, L, b.scales, &b.d, &b.dmin);
    kx_requantize(x, 31, b.scales, b.d, b.dmin, L);
    q5_K_pack(L, b.qs, b.qh);
}

// ---- Q6_K: 16 sub-blocks of 16, symmetric 6-bit, int8 scales ----

// qw == nullptr: weights x^2 (the plain algorithm); otherwise the imatrix entries themselves.
void q6_K_block(const float* x, block_q6_K& b, const float* qw) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0.f, max_abs_scale = 0.f;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw ? qw + 16 * ib : nullptr);
        if (std::fabs(scales[ib]) > max_abs_scale) {
            max_abs_scale = std::fabs(scales[ib]);
            max_scale = scales[ib];
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(&b, 0, sizeof b);
        return;
    }
    const float iscale = -128.f / max_scale;
    b.d = fp32_to_fp16(1.f / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib) b.scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
    const float dall = fp16_to_fp32(b.d);
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = dall * float(b.scales[j]);
        if (d == 0.f) continue;
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
    // In each 128-element half: ql[l] = elem l | elem l+64 << 4, ql[l+32] = elem l+32 | elem l+96 << 4
    // (low nibbles); qh[l] = the top two bits of elements l, l+32, l+64, l+96 in bits 0-1 .. 6-7.
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; ++l) {
            const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
            ql[l] = uint8_t((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[l + 32] = uint8_t((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[l] = uint8_t((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
}

}  // namespace

void quantize_row_q4_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q4_K*>(vy);
    for (int64_t i = 0; i < n / QK_K; ++i) q4_K_block(x + i * QK_K, y[i], nullptr, false);
}

size_t quantize_q4_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    if (!imp) {
        quantize_row_q4_K_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q4_K);
    }
    return kquant::quantize_rows<block_q4_K>(src, dst, nrows, n_per_row, [imp](const float* x, block_q4_K* y, int64_t n) {
        for (int64_t i = 0; i < n / QK_K; ++i) q4_K_block(x + i * QK_K, y[i], imp + i * QK_K, true);
    });
}

void quantize_row_q5_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q5_K*>(vy);
    for (int64_t i = 0; i < n / QK_K; ++i) q5_K_block(x + i * QK_K, y[i], nullptr, false);
}

size_t quantize_q5_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    if (!imp) {
        quantize_row_q5_K_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q5_K);
    }
    return kquant::quantize_rows<block_q5_K>(src, dst, nrows, n_per_row, [imp](const float* x, block_q5_K* y, int64_t n) {
        for (int64_t i = 0; i < n / QK_K; ++i) q5_K_block(x + i * QK_K, y[i], imp + i * QK_K, true);
    });
}

void quantize_row_q6_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q6_K*>(vy);
    for (int64_t i = 0; i < n / QK_K; ++i) q6_K_block(x + i * QK_K, y[i], nullptr);
}

size_t quantize_q6_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    if (!imp) {
        quantize_row_q6_K_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q6_K);
    }
    return kquant::quantize_rows<block_q6_K>(src, dst, nrows, n_per_row, [imp](const float* x, block_q6_K* y, int64_t n) {
        for (int64_t i = 0; i < n / QK_K; ++i) q6_K_block(x + i * QK_K, y[i], imp + i * QK_K);
    });
}

// ggml's exactly: iscale = -127 / max with max the signed element of largest magnitude, so that
// element becomes -127 and d = 1 / iscale may be negative; q = min(127, nearest_int(iscale x));
// bsums[k] = sum of q[16 k .. 16 k + 15]. An all-zero block gets d = 0 and zero qs / bsums.
void quantize_row_q8_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q8_K*>(vy);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max = 0.f, amax = 0.f;
        for (int j = 0; j < QK_K; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.f) {
            y[i].d = 0.f;
            std::memset(y[i].qs, 0, sizeof y[i].qs);
            std::memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) y[i].qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
        for (int k = 0; k < QK_K / 16; ++k) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * k + l];
            y[i].bsums[k] = int16_t(sum);
        }
        y[i].d = 1.f / iscale;
    }
}

// Q8_K is never stored in files; quantize_q8_K exists for completeness and ignores weights.
size_t quantize_q8_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_q8_K_ref(src, dst, nrows * n_per_row);
    return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q8_K);
}

}  // namespace moecpu
