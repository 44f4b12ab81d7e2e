// The scalar reference kernels: plain C++ that states each block format's dot product the way
// ggml's generic `ggml_vec_dot_<t>_q8_<k>` does (integer sums per (sub-)block, then scaled).
// They are the ground truth every SIMD table is tested against; speed is not their job.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/kernel_table.h"

namespace moecpu::kernels::scalar {

// dot(weight row, activation row) over k elements; `a` is in the weight type's vec_dot_type.
using RowDotFn = float (*)(int64_t k, const void* w, const void* a);

float dot_q4_0(int64_t k, const void* w, const void* a);  // a: Q8_0
float dot_q4_1(int64_t k, const void* w, const void* a);  // a: Q8_1
float dot_q5_0(int64_t k, const void* w, const void* a);  // a: Q8_0
float dot_q5_1(int64_t k, const void* w, const void* a);  // a: Q8_1
float dot_q8_0(int64_t k, const void* w, const void* a);  // a: Q8_0
float dot_q2_K(int64_t k, const void* w, const void* a);  // a: Q8_K
float dot_q3_K(int64_t k, const void* w, const void* a);  // a: Q8_K
float dot_q4_K(int64_t k, const void* w, const void* a);  // a: Q8_K
float dot_q5_K(int64_t k, const void* w, const void* a);  // a: Q8_K
float dot_q6_K(int64_t k, const void* w, const void* a);  // a: Q8_K
float dot_f32(int64_t k, const void* w, const void* a);   // a: F32
float dot_f16(int64_t k, const void* w, const void* a);   // a: F32
float dot_bf16(int64_t k, const void* w, const void* a);  // a: F32

// A MatTileFn made of one row dot per (row, column) pair.
template <RowDotFn Dot>
void mat_tile_by_rows(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                      size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* ab = static_cast<const uint8_t*>(a);
    for (int c = 0; c < nc; ++c)
        for (int r = 0; r < nr; ++r)
            out[c * out_stride + r] = Dot(k, wb + r * w_row_bytes, ab + c * a_row_bytes);
}

// Activation "quantizer" for float weights: the f32 row copied as is.
void copy_f32_act(const float* x, void* y, int64_t n);

// Element-wise ops as plain loops (sums in double).
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
void silu_mul(const float* gate, const float* up, float* y, int64_t n);
void softmax(float* x, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void scale(float* x, float s, int64_t n);
void axpy(float a, const float* x, float* y, int64_t n);
void rope_interleaved(float* x, const float* cos, const float* sin, int64_t n_dims);
float max_of(const float* x, int64_t n);
float exp_scaled_sum(float* x, float scale, float shift, int64_t n);

}  // namespace moecpu::kernels::scalar
