// Quantization of the 32-element blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
// The *_ref functions are ggml's plain algorithms (the Q8 ones bit-exact: kernels depend on it);
// with importance weights the scale is chosen by a weighted search (quant_search.h), weights
// being imatrix[j] * sqrt(sigma^2 + x[j]^2) as in ggml.
#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/block_formats.h"
#include "quant/fp16.h"
#include "quant/quant_search.h"
#include "quant/quantize_ref.h"

namespace moecpu {

namespace {

using qsearch::make_qkx_quants;
using qsearch::make_qx_quants;

inline void store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; ++k) qh[k] = uint8_t(v >> (8 * k));
}

// Nibbles of 32 levels: byte j = L[j] | L[j + 16] << 4 (the low 4 bits of each level).
template <typename T>
inline void pack_nibbles(const T* L, uint8_t qs[16]) {
    for (int j = 0; j < 16; ++j) qs[j] = uint8_t((L[j] & 0xF) | ((L[j + 16] & 0xF) << 4));
}

// Bit 4 of each of 32 levels, element j at bit j.
template <typename T>
inline uint32_t fifth_bits(const T* L) {
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) qh |= uint32_t((L[j] >> 4) & 1) << j;
    return qh;
}

// Value of largest magnitude, with its sign.
inline float signed_absmax(const float* x, int n) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    }
    return max;
}

// Per-element weights of a block from the imatrix: qw[j] * sqrt(sigma2 + x[j]^2).
inline void block_weights(const float* x, const float* qw, float sigma2, float* w, int n) {
    for (int j = 0; j < n; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

inline float mean_square(const float* x, int64_t n) {
    float s = 0.f;
    for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
    return n > 0 ? s / float(n) : 0.f;
}

// Shared row loop of the weighted quantizers: `row_fn(src_row, dst_row)` per row.
template <typename RowFn>
size_t for_each_row(const float* src, void* dst, int64_t nrows, int64_t n_per_row, size_t row_bytes,
                    RowFn row_fn) {
    auto* out = static_cast<char*>(dst);
    for (int64_t r = 0; r < nrows; ++r) row_fn(src + r * n_per_row, out + size_t(r) * row_bytes);
    return size_t(nrows) * row_bytes;
}

// ---- weighted row quantizers (importance non-null) ----

void q4_0_row_weighted(const float* x, block_q4_0* y, int64_t n, const float* imp) {
    const float sigma2 = mean_square(x, n);
    float w[QK4_0];
    int8_t L[QK4_0];
    for (int64_t ib = 0; ib < n / QK4_0; ++ib) {
        const float* xb = x + ib * QK4_0;
        block_weights(xb, imp + ib * QK4_0, sigma2, w, QK4_0);
        y[ib].d = fp32_to_fp16(make_qx_quants(QK4_0, 8, xb, L, w));
        pack_nibbles(L, y[ib].qs);
    }
}

void q4_1_row_weighted(const float* x, block_q4_1* y, int64_t n, const float* imp) {
    const float sigma2 = mean_square(x, n);
    float w[QK4_1];
    uint8_t L[QK4_1], Laux[QK4_1];
    for (int64_t ib = 0; ib < n / QK4_1; ++ib) {
        const float* xb = x + ib * QK4_1;
        block_weights(xb, imp + ib * QK4_1, sigma2, w, QK4_1);
        float min;
        const float d = make_qkx_quants(QK4_1, 15, xb, w, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = fp32_to_fp16(d);
        y[ib].m = fp32_to_fp16(-min);
        pack_nibbles(L, y[ib].qs);
    }
}

void q5_0_row_weighted(const float* x, block_q5_0* y, int64_t n, const float* imp) {
    const float sigma2 = mean_square(x, n);
    float w[QK5_0];
    int8_t L[QK5_0];
    for (int64_t ib = 0; ib < n / QK5_0; ++ib) {
        const float* xb = x + ib * QK5_0;
        block_weights(xb, imp + ib * QK5_0, sigma2, w, QK5_0);
        y[ib].d = fp32_to_fp16(make_qx_quants(QK5_0, 16, xb, L, w));
        pack_nibbles(L, y[ib].qs);
        store_qh(y[ib].qh, fifth_bits(L));
    }
}

void q5_1_row_weighted(const float* x, block_q5_1* y, int64_t n, const float* imp) {
    const float sigma2 = mean_square(x, n);
    float w[QK5_1];
    uint8_t L[QK5_1], Laux[QK5_1];
    for (int64_t ib = 0; ib < n / QK5_1; ++ib) {
        const float* xb = x + ib * QK5_1;
        block_weights(xb, imp + ib * QK5_1, sigma2, w, QK5_1);
        float min;
        const float d = make_qkx_quants(QK5_1, 31, xb, w, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = fp32_to_fp16(d);
        y[ib].m = fp32_to_fp16(-min);
        pack_nibbles(L, y[ib].qs);
        store_qh(y[ib].qh, fifth_bits(L));
    }
}

}  // namespace

// ---- plain reference quantizers ----

// d = max / -8 with max the signed value of largest magnitude (so it lands exactly on level 0),
// q = min(15, trunc(x / d + 8.5)).
void quantize_row_q4_0_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK4_0 == 0);
    auto* y = static_cast<block_q4_0*>(vy);
    for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
        const float d = signed_absmax(x, QK4_0) / -8.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        uint8_t L[QK4_0];
        for (int j = 0; j < QK4_0; ++j) L[j] = uint8_t(std::min(15, int(int8_t(x[j] * id + 8.5f))));
        pack_nibbles(L, y[i].qs);
    }
}

// d = (max - min) / 15, m = min, q = min(15, trunc((x - min) / d + 0.5)).
void quantize_row_q4_1_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK4_1 == 0);
    auto* y = static_cast<block_q4_1*>(vy);
    for (int64_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK4_1; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        const float d = (max - min) / 15.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint8_t L[QK4_1];
        for (int j = 0; j < QK4_1; ++j) L[j] = uint8_t(std::min(15, int(int8_t((x[j] - min) * id + 0.5f))));
        pack_nibbles(L, y[i].qs);
    }
}

// d = max / -16, q = min(31, trunc(x / d + 16.5)).
void quantize_row_q5_0_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK5_0 == 0);
    auto* y = static_cast<block_q5_0*>(vy);
    for (int64_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
        const float d = signed_absmax(x, QK5_0) / -16.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        uint8_t L[QK5_0];
        for (int j = 0; j < QK5_0; ++j) L[j] = uint8_t(std::min(31, int(int8_t(x[j] * id + 16.5f))));
        pack_nibbles(L, y[i].qs);
        store_qh(y[i].qh, fifth_bits(L));
    }
}

// d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5).
void quantize_row_q5_1_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK5_1 == 0);
    auto* y = static_cast<block_q5_1*>(vy);
    for (int64_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK5_1; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        const float d = (max - min) / 31.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint8_t L[QK5_1];
        for (int j = 0; j < QK5_1; ++j) L[j] = uint8_t(std::min(31, int((x[j] - min) * id + 0.5f)));
        pack_nibbles(L, y[i].qs);
        store_qh(y[i].qh, fifth_bits(L));
    }
}

// ggml's exactly: d = amax / 127 (fp32, then stored as fp16), q = roundf(x * (1/d)).
void quantize_row_q8_0_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK8_0 == 0);
    auto* y = static_cast<block_q8_0*>(vy);
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        float amax = 0.f;
        for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = int8_t(std::round(x[j] * id));
    }
}

// As Q8_0, plus s = fp16(d * sum(q)) with d the unrounded fp32 scale (as ggml).
void quantize_row_q8_1_ref(const float* x, void* vy, int64_t n) {
    assert(n % QK8_1 == 0);
    auto* y = static_cast<block_q8_1*>(vy);
    for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
        float amax = 0.f;
        for (int j = 0; j < QK8_1; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            y[i].qs[j] = int8_t(std::round(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = fp32_to_fp16(float(sum) * d);
    }
}

// ---- row-batch quantizers with optional importance ----

size_t quantize_q4_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    const size_t rb = size_t(n_per_row / QK4_0) * sizeof(block_q4_0);
    if (!imp) {
        quantize_row_q4_0_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * rb;
    }
    return for_each_row(src, dst, nrows, n_per_row, rb, [&](const float* x, char* y) {
        q4_0_row_weighted(x, reinterpret_cast<block_q4_0*>(y), n_per_row, imp);
    });
}

size_t quantize_q4_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    const size_t rb = size_t(n_per_row / QK4_1) * sizeof(block_q4_1);
    if (!imp) {
        quantize_row_q4_1_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * rb;
    }
    return for_each_row(src, dst, nrows, n_per_row, rb, [&](const float* x, char* y) {
        q4_1_row_weighted(x, reinterpret_cast<block_q4_1*>(y), n_per_row, imp);
    });
}

size_t quantize_q5_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    const size_t rb = size_t(n_per_row / QK5_0) * sizeof(block_q5_0);
    if (!imp) {
        quantize_row_q5_0_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * rb;
    }
    return for_each_row(src, dst, nrows, n_per_row, rb, [&](const float* x, char* y) {
        q5_0_row_weighted(x, reinterpret_cast<block_q5_0*>(y), n_per_row, imp);
    });
}

size_t quantize_q5_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imp) {
    const size_t rb = size_t(n_per_row / QK5_1) * sizeof(block_q5_1);
    if (!imp) {
        quantize_row_q5_1_ref(src, dst, nrows * n_per_row);
        return size_t(nrows) * rb;
    }
    return for_each_row(src, dst, nrows, n_per_row, rb, [&](const float* x, char* y) {
        q5_1_row_weighted(x, reinterpret_cast<block_q5_1*>(y), n_per_row, imp);
    });
}

// Q8_0 / Q8_1 ignore the importance (8 bits leave little for it to gain; ggml does the same).
size_t quantize_q8_0(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_q8_0_ref(src, dst, nrows * n_per_row);
    return size_t(nrows) * size_t(n_per_row / QK8_0) * sizeof(block_q8_0);
}

size_t quantize_q8_1(const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float*) {
    quantize_row_q8_1_ref(src, dst, nrows * n_per_row);
    return size_t(nrows) * size_t(n_per_row / QK8_1) * sizeof(block_q8_1);
}

}  // namespace moecpu
