// Quantization of Q2_K and Q3_K (ggml's algorithms; layouts in block_formats.h / k_packing.h).
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
using kquant::pack_2bit_planes;
using kquant::sum_squares;
using qsearch::make_q3_quants;
using qsearch::make_qkx_quants;
using qsearch::make_qp_quants;
using qsearch::make_qx_quants;
using qsearch::nearest_int;

namespace {

// Final levels of a Q2_K block from its stored (rounded) scales: L = round((x + m) / d) in [0, 3].
void q2_K_requantize(const float* x, const block_q2_K& b, uint8_t* L) {
    const float dall = fp16_to_fp32(b.d), mall = fp16_to_fp32(b.dmin);
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = dall * float(b.scales[j] & 0xF);
        if (d == 0.f) continue;
        const float m = mall * float(b.scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] = uint8_t(std::clamp(nearest_int((x[16 * j + ii] + m) / d), 0, 3));
    }
}

void q2_K_row_weighted(const float* x, block_q2_K* y, int64_t n, const float* imp) {
    uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
    float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16], w[16];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        const float sigma2 = sum_squares(x, QK_K) / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            imatrix_weights(x + 16 * j, imp + QK_K * i + 16 * j, sigma2, w, 16);
            sw[j] = 0.f;
            for (int l = 0; l < 16; ++l) sw[j] += w[l];
            scales[j] = make_qkx_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
        }
        // Scales and mins to 4 bits each, weighted by the total importance of their sub-block.
        const float dm = make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
        const float mm = make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
        y[i].d = fp32_to_fp16(dm);
        y[i].dmin = fp32_to_fp16(mm);
        for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = uint8_t(Ls[j] | (Lm[j] << 4));
        q2_K_requantize(x, y[i], L);
        pack_2bit_planes(L, y[i].qs);
    }
}

// Q3_K levels (L in [0, 7] = q + 4) of one block from its stored scales, then hmask + qs.
void q3_K_finish_block(const float* x, block_q3_K& b, int8_t* L) {
    const float dall = fp16_to_fp32(b.d);
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = dall * float(q3k_get_scale(j, b.scales));
        if (d == 0.f) continue;
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
    // High bit of element j goes to bit j / 32 of hmask[j % 32]; low two bits to qs.
    std::memset(b.hmask, 0, sizeof b.hmask);
    uint8_t low[QK_K];
    for (int j = 0; j < QK_K; ++j) {
        if (L[j] > 3) b.hmask[j % 32] = uint8_t(b.hmask[j % 32] | (1u << (j / 32)));
        low[j] = uint8_t(L[j] & 3);
    }
    pack_2bit_planes(low, b.qs);
}

void q3_K_row_weighted(const float* x, block_q3_K* y, int64_t n, const float* imp) {
    int8_t L[QK_K], Ls[QK_K / 16];
    float scales[QK_K / 16], w[16], sw[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        const float sigma2 = 2.f * sum_squares(x, QK_K) / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            imatrix_weights(x + 16 * j, imp + QK_K * i + 16 * j, sigma2, w, 16);
            sw[j] = 0.f;
            for (int l = 0; l < 16; ++l) sw[j] += w[l];
            scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, w);
        }
        // The signed sub-block scales themselves to 6 bits (levels 0..63 = scale + 32).
        const float d_block = make_qx_quants(QK_K / 16, 32, scales, Ls, sw);
        uint8_t packed[QK_K / 16];
        for (int j = 0; j < QK_K / 16; ++j) packed[j] = uint8_t(Ls[j]);
        q3k_pack_scales(packed, y[i].scales);
        y[i].d = fp32_to_fp16(d_block);
        q3_K_finish_block(x, y[i], L);
    }
}

}  // namespace

// Per 16-element sub-block an asymmetric 2-bit fit (weights |x|, minimising the weighted absolute
// error); scales and mins then quantized linearly to 4 bits against their maxima.
void quantize_row_q2_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q2_K*>(vy);
    uint8_t L[QK_K], Laux[16];
    float w[16], mins[QK_K / 16], scales[QK_K / 16];
    constexpr float q4scale = 15.f;
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max_scale = 0.f, max_min = 0.f;  // scales and mins are >= 0 here
        for (int j = 0; j < QK_K / 16; ++j) {
            for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
            scales[j] = make_qkx_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            max_scale = std::max(max_scale, scales[j]);
            max_min = std::max(max_min, mins[j]);
        }
        if (max_scale > 0.f) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = uint8_t(nearest_int(iscale * scales[j]));
            y[i].d = fp32_to_fp16(max_scale / q4scale);
        } else {
            std::memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = fp32_to_fp16(0.f);
        }
        if (max_min > 0.f) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; ++j)
                y[i].scales[j] = uint8_t(y[i].scales[j] | (nearest_int(iscale * mins[j]) << 4));
            y[i].dmin = fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = fp32_to_fp16(0.f);
        }
        q2_K_requantize(x, y[i], L);
        pack_2bit_planes(L, y[i].qs);
    }
}

size_t quantize_q2_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    if (!imp) {
        quantize_row_q2_K_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q2_K);
    }
    return kquant::quantize_rows<block_q2_K>(src, dst, nrows, n_per_row,
        [imp](const float* x, block_q2_K* y, int64_t n) { q2_K_row_weighted(x, y, n, imp); });
}

// Per 16-element sub-block a symmetric 3-bit fit refined by coordinate descent (weights x^2);
// the signed scales then go to 6 bits with the largest-magnitude one on level -32.
void quantize_row_q3_K_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK_K == 0);
    auto* y = static_cast<block_q3_K*>(vy);
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max_scale = 0.f, amax = 0.f;
        for (int j = 0; j < QK_K / 16; ++j) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (std::fabs(scales[j]) > amax) {
                amax = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_scale != 0.f) {
            const float iscale = -32.f / max_scale;
            uint8_t l6[QK_K / 16];
            for (int j = 0; j < QK_K / 16; ++j)
                l6[j] = uint8_t(std::clamp(int(int8_t(nearest_int(iscale * scales[j]))), -32, 31) + 32);
            q3k_pack_scales(l6, y[i].scales);
            y[i].d = fp32_to_fp16(1.f / iscale);
        } else {
            std::memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = fp32_to_fp16(0.f);
        }
        q3_K_finish_block(x, y[i], L);
    }
}

size_t quantize_q3_K(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    if (!imp) {
        quantize_row_q3_K_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * size_t(n_per_row / QK_K) * sizeof(block_q3_K);
    }
    return kquant::quantize_rows<block_q3_K>(src, dst, nrows, n_per_row,
        [imp](const float* x, block_q3_K* y, int64_t n) { q3_K_row_weighted(x, y, n, imp); });
}

}  // namespace moecpu
