// Small helpers shared by the K-quant quantizers (internal to quant/).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "quant/block_formats.h"

namespace moecpu::kquant {

// 2-bit planes of Q2_K / Q3_K: in each half (128 elements) byte l of its 32 holds elements
// l, l + 32, l + 64, l + 96 in bits 0-1, 2-3, 4-5, 6-7.
inline void pack_2bit_planes(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = uint8_t((L[j + l] & 3) | ((L[j + l + 32] & 3) << 2) |
                                    ((L[j + l + 64] & 3) << 4) | ((L[j + l + 96] & 3) << 6));
        }
    }
}

inline float sum_squares(const float* x, int n) {
    float s = 0.f;
    for (int i = 0; i < n; ++i) s += x[i] * x[i];
    return s;
}

// Importance weights of one sub-block: qw[l] * sqrt(sigma2 + x[l]^2) (ggml's choice: the imatrix
// entry times a soft magnitude term, so large weights of important columns matter most).
inline void imatrix_weights(const float* x, const float* qw, float sigma2, float* w, int n) {
    for (int l = 0; l < n; ++l) w[l] = qw[l] * std::sqrt(sigma2 + x[l] * x[l]);
}

// Row loop of the weighted K-quantizers; rows are n_per_row / QK_K blocks of type B.
template <typename B, typename RowFn>
size_t quantize_rows(const float* src, void* dst, int64_t nrows, int64_t n_per_row, RowFn row_fn) {
    const size_t row_bytes = size_t(n_per_row / QK_K) * sizeof(B);
    auto* out = static_cast<char*>(dst);
    for (int64_t r = 0; r < nrows; ++r)
        row_fn(src + r * n_per_row, reinterpret_cast<B*>(out + size_t(r) * row_bytes), n_per_row);
    return size_t(nrows) * row_bytes;
}

}  // namespace moecpu::kquant
