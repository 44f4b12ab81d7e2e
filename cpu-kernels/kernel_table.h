// The function table every ISA fills (scalar reference, AVX2, AVX-512, NEON). CPU features are
// detected once and one table is chosen for the whole process; no feature check runs inside a
// block loop. Kernels are plain functions over raw rows so each ISA's translation unit needs no
// templates or STL from elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quant/ggml_types.h"

namespace moecpu::kernels {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3, NeonDot = 4 };

constexpr int kTypeCount = static_cast<int>(GgmlType::COUNT);

// f32 row of n elements → activation blocks (Q8_0 or Q8_K), n a multiple of the block size.
using QuantizeActFn = void (*)(const float* x, void* y, int64_t n);

// Tile of a matmul: out[c * out_stride + r] = dot(weight row r, activation row c) for r < nr,
// c < nc. Weight rows are `w_row_bytes` apart, activation rows (already in the weight type's
// vec_dot_type) `a_row_bytes` apart; k is the row length in elements. Kernels block over rows
// and columns internally so each weight block is unpacked once per several columns.
using MatTileFn = void (*)(int64_t k, const void* w, size_t w_row_bytes, int nr,
                           const void* a, size_t a_row_bytes, int nc,
                           float* out, size_t out_stride);

struct KernelTable {
    Isa isa = Isa::Scalar;
    const char* name = "scalar";
    QuantizeActFn quantize_act[kTypeCount] = {};  // filled for Q8_0, Q8_K (and F16/BF16/F32 copies)
    MatTileFn mat_tile[kTypeCount] = {};          // indexed by the weight type

    // Element-wise ops of the forward pass.
    void (*rms_norm)(const float* x, const float* w, float* y, int64_t n, float eps) = nullptr;
    void (*silu_mul)(const float* gate, const float* up, float* y, int64_t n) = nullptr;
    void (*softmax)(float* x, int64_t n) = nullptr;  // in place, numerically stable
    void (*add)(const float* a, const float* b, float* y, int64_t n) = nullptr;
    void (*scale)(float* x, float s, int64_t n) = nullptr;
    void (*axpy)(float a, const float* x, float* y, int64_t n) = nullptr;  // y += a * x
    // Interleaved RoPE: pairs (2i, 2i+1) rotated by (cos[i], sin[i]), n_dims even.
    void (*rope_interleaved)(float* x, const float* cos, const float* sin, int64_t n_dims) = nullptr;
};

}  // namespace moecpu::kernels
