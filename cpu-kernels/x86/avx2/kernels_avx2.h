// The AVX2 kernels, one group per source file; table_avx2.cpp puts them into the AVX2 table.
// Plain declarations only: this header is included by AVX2-compiled files alone.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moecpu::kernels::avx2 {

// quantize_act_avx2.cpp
void quantize_act_q8_0(const float* x, void* y, int64_t n);
void quantize_act_q8_1(const float* x, void* y, int64_t n);
void quantize_act_q8_K(const float* x, void* y, int64_t n);

#define MOECPU_AVX2_MAT_TILE(name)                                                        \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,       \
              size_t a_row_bytes, int nc, float* out, size_t out_stride)

// mat_legacy_avx2.cpp: 32-element blocks
MOECPU_AVX2_MAT_TILE(mat_tile_q4_0);
MOECPU_AVX2_MAT_TILE(mat_tile_q4_1);
MOECPU_AVX2_MAT_TILE(mat_tile_q5_0);
MOECPU_AVX2_MAT_TILE(mat_tile_q5_1);
MOECPU_AVX2_MAT_TILE(mat_tile_q8_0);
// mat_q2k_q3k_avx2.cpp
MOECPU_AVX2_MAT_TILE(mat_tile_q2_K);
MOECPU_AVX2_MAT_TILE(mat_tile_q3_K);
// mat_q4k_q5k_avx2.cpp
MOECPU_AVX2_MAT_TILE(mat_tile_q4_K);
MOECPU_AVX2_MAT_TILE(mat_tile_q5_K);
// mat_q6k_avx2.cpp
MOECPU_AVX2_MAT_TILE(mat_tile_q6_K);
// mat_float_avx2.cpp
MOECPU_AVX2_MAT_TILE(mat_tile_f32);
MOECPU_AVX2_MAT_TILE(mat_tile_f16);
MOECPU_AVX2_MAT_TILE(mat_tile_bf16);



}  // namespace moecpu::kernels::avx2
