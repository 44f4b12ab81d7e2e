// The function table every ISA fills (scalar reference, AVX2, AVX-512, NEON). CPU features are
// detected once and one table is chosen for the whole process; no feature check runs inside a
// block loop. Kernels are plain functions over raw rows so each ISA's translation unit needs no
// templates or STL from elsewhere.
//
// Conventions (kcore, additive to the skeleton):
//  - quantize_act is indexed by the ACTIVATION type (a weight type's TypeTraits::vec_dot_type):
//    Q8_0 (for Q4_0/Q5_0/Q8_0), Q8_1 (for Q4_1/Q5_1), Q8_K (for Q2_K..Q6_K), F32 (a plain copy;
//    float weights F32/F16/BF16 take f32 activations).
//    act_type_for() (cpu-kernels/act_format.h) maps a weight type to its activation type.
//  - mat_tile is indexed by the WEIGHT type; k is a multiple of the block size (any k >= 1 for
//    F32 / F16 / BF16, so float kernels handle tails); nr and nc may be any value >= 1 (drivers
//    pass up to kTileRows rows and kTileCols columns); rows and strides are aligned to
//    alignof(block struct) only (2 or 4 bytes), never to vector width. Entries of `out` outside
//    the nr x nc tile must not be written.
//  - An ISA table may leave entries null: table_for()/active() hand out a copy whose null
//    entries are filled (mat_tile / quantize_act from the scalar table, element-wise ops from the
//    portable xsimd build), so callers never see null.
//  - Each ISA folder defines exactly one getter below; the scalar one lives in cpu-kernels/scalar.
//  - The shared test harness is tests/cpu-kernels/kernel_checks.h:
//    moecpu::kernel_checks::check_table_against_scalar(*your_table()).
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
    QuantizeActFn quantize_act[kTypeCount] = {};  // by activation type: Q8_0, Q8_1, Q8_K, F32 (copy)
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
    // The two passes of an online softmax over a tile of attention scores (MLA prefill): the
    // largest of x[0..n) (-inf for n = 0), then x[i] = exp(scale * x[i] - shift) in place, the
    // sum of the new values returned. exp: within 1e-6 relative of std::exp up to 88.3 (above
    // ~88.37 it gives inf, as xsimd's), results below e^-82.9 may flush to 0; -inf gives 0.
    float (*max_of)(const float* x, int64_t n) = nullptr;
    float (*exp_scaled_sum)(float* x, float scale, float shift, int64_t n) = nullptr;
};

// Largest tile the matmul drivers hand to one mat_tile call (kernels may rely on nothing more).
constexpr int kTileRows = 16;
constexpr int kTileCols = 64;

// The raw tables, one per ISA folder (null entries allowed; see above). A getter returns null
// when its table cannot run in this build. Use table_for()/active() (dispatch.h) to run kernels.
const KernelTable* scalar_table();        // cpu-kernels/scalar
const KernelTable* avx2_table();          // cpu-kernels/x86/avx2   (AVX2 + FMA + F16C)
const KernelTable* avx512_table();        // cpu-kernels/x86/avx512 (F + BW + VL + DQ + VNNI)
const KernelTable* neon_table();          // cpu-kernels/arm/neon   (ASIMD)
const KernelTable* neon_dotprod_table();  // cpu-kernels/arm/neon   (ASIMD + dotprod)

}  // namespace moecpu::kernels
