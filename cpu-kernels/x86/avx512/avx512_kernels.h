// The AVX-512 kernels that fill the table (table_avx512.cpp). Declared inside
// moecpu::kernels::MOECPU_AVX512_NS, i.e. `avx512` natively and `avx512_simde` in the SIMDe test
// build (see avx512_intrinsics.h), so both builds link into one executable without clashes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_intrinsics.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {

// f32 row → activation blocks; bit-exact with quant/quantize_ref.h's *_ref functions.
void quantize_act_q8_0(const float* x, void* y, int64_t n);
void quantize_act_q8_1(const float* x, void* y, int64_t n);
void quantize_act_q8_K(const float* x, void* y, int64_t n);

// MatTileFn for each weight type (see kernel_table.h for the contract).
#define MOECPU_AVX512_DECLARE_TILE(name)                                                       \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,            \
              size_t a_row_bytes, int nc, float* out, size_t out_stride)
MOECPU_AVX512_DECLARE_TILE(mat_tile_q4_0);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q4_1);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q5_0);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q5_1);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q8_0);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q2_K);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q3_K);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q4_K);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q5_K);
MOECPU_AVX512_DECLARE_TILE(mat_tile_q6_K);
MOECPU_AVX512_DECLARE_TILE(mat_tile_f32);
MOECPU_AVX512_DECLARE_TILE(mat_tile_f16);
MOECPU_AVX512_DECLARE_TILE(mat_tile_bf16);
#undef MOECPU_AVX512_DECLARE_TILE

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
