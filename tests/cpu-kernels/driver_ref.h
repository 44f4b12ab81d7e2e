// Naive references for the matmul drivers: activation rows converted by the scalar table, one
// scalar row dot per output element, and the kernel_checks tolerance magnitude for each.
#pragma once
#include <vector>

#include "kernel_checks.h"

namespace moecpu::kernel_checks {

// Random weights [n_rows_total] rows of type t, contiguous, quantized from random floats.
inline std::vector<uint8_t> random_weights(GgmlType t, int64_t n_rows_total, int64_t k, Rng& rng) {
    const size_t rb = row_size(t, k);
    std::vector<uint8_t> w(static_cast<size_t>(n_rows_total) * rb + 64);
    for (int64_t r = 0; r < n_rows_total; ++r) fill_weight_row(t, w.data() + r * rb, k, WeightFill::Quantized, rng);
    return w;
}

// One f32 activation row in the weight type's activation format, plus its float values.
struct PreparedAct {
    std::vector<uint8_t> converted;
    std::vector<float> values;
};

inline PreparedAct prepare_act(GgmlType wt, const float* x, int64_t k) {
    const GgmlType at = kernels::act_type_for(wt);
    PreparedAct p;
    p.converted.resize(row_size(at, k));
    kernels::scalar_table()->quantize_act[idx(at)](x, p.converted.data(), k);
    p.values = act_to_float(at, p.converted.data(), k);
    return p;
}

// Per weight row: |w_i| + 2 max|w| of i's block, so magnitude = sum_i |a_i| * factor_i.
inline std::vector<std::vector<float>> magnitude_factors(GgmlType wt, const uint8_t* w, int64_t n_rows, int64_t k) {
    const int64_t bs = std::max<int64_t>(traits_of(wt).block_size, 1);
    std::vector<std::vector<float>> out(static_cast<size_t>(n_rows), std::vector<float>(static_cast<size_t>(k)));
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < n_rows; ++r) {
        traits_of(wt).to_float(w + r * row_size(wt, k), row.data(), k);
        for (int64_t b0 = 0; b0 < k; b0 += bs) {
            float block_max = 0.0f;
            for (int64_t i = b0; i < b0 + bs; ++i) block_max = std::max(block_max, std::fabs(row[i]));
            for (int64_t i = b0; i < b0 + bs; ++i) out[r][i] = std::fabs(row[i]) + 2.0f * block_max;
        }
    }
    return out;
}

inline double magnitude_of(const std::vector<float>& factors, const PreparedAct& a) {
    double m = 0.0;
    for (size_t i = 0; i < factors.size(); ++i) m += double(factors[i]) * std::fabs(a.values[i]);
    return m;
}

inline float reference_dot(GgmlType wt, const uint8_t* wrow, int64_t k, const PreparedAct& a) {
    float out = 0.0f;
    kernels::scalar_table()->mat_tile[idx(wt)](k, wrow, row_size(wt, k), 1, a.converted.data(), a.converted.size(), 1,
                                               &out, 1);
    return out;
}

}  // namespace moecpu::kernel_checks
