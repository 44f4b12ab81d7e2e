// Every NEON kernel, for neon_tables.cpp to put into the two tables. The plain armv8-a versions
// live in this namespace; `sdot` holds the int8 matmul tiles built with the armv8.2 dot product
// (the *_dotprod.cpp files). Signatures are the KernelTable function types.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/arm/neon/neon_intrinsics.h"

// The MatTileFn parameter list, spelled once.
#define MOECPU_NEON_TILE_PARAMS                                                              \
    int64_t k, const void *w, size_t w_row_bytes, int nr, const void *a, size_t a_row_bytes, \
        int nc, float *out, size_t out_stride

namespace moecpu::kernels::MOECPU_NEON_NS {

// Activation quantizers (neon_quantize_act.cpp), bit-exact with the reference quantizers.
void quantize_q8_0(const float* x, void* y, int64_t n);
void quantize_q8_1(const float* x, void* y, int64_t n);
void quantize_q8_K(const float* x, void* y, int64_t n);

// Float weights against f32 activations (neon_float_tiles.cpp); sdot is of no use here.
void tile_f32(MOECPU_NEON_TILE_PARAMS);
void tile_f16(MOECPU_NEON_TILE_PARAMS);
void tile_bf16(MOECPU_NEON_TILE_PARAMS);

// 32-element block formats (neon_legacy_tiles.cpp).
void tile_q4_0(MOECPU_NEON_TILE_PARAMS);
void tile_q4_1(MOECPU_NEON_TILE_PARAMS);
void tile_q5_0(MOECPU_NEON_TILE_PARAMS);
void tile_q5_1(MOECPU_NEON_TILE_PARAMS);
void tile_q8_0(MOECPU_NEON_TILE_PARAMS);

// K-quants (neon_kquant_tiles.cpp).
void tile_q2_K(MOECPU_NEON_TILE_PARAMS);
void tile_q3_K(MOECPU_NEON_TILE_PARAMS);
void tile_q4_K(MOECPU_NEON_TILE_PARAMS);
void tile_q5_K(MOECPU_NEON_TILE_PARAMS);
void tile_q6_K(MOECPU_NEON_TILE_PARAMS);

// The same int8 tiles with `sdot` (neon_legacy_tiles_dotprod.cpp, neon_kquant_tiles_dotprod.cpp).
namespace sdot {
void tile_q4_0(MOECPU_NEON_TILE_PARAMS);
void tile_q4_1(MOECPU_NEON_TILE_PARAMS);
void tile_q5_0(MOECPU_NEON_TILE_PARAMS);
void tile_q5_1(MOECPU_NEON_TILE_PARAMS);
void tile_q8_0(MOECPU_NEON_TILE_PARAMS);
void tile_q2_K(MOECPU_NEON_TILE_PARAMS);
void tile_q3_K(MOECPU_NEON_TILE_PARAMS);
void tile_q4_K(MOECPU_NEON_TILE_PARAMS);
void tile_q5_K(MOECPU_NEON_TILE_PARAMS);
void tile_q6_K(MOECPU_NEON_TILE_PARAMS);
}  // namespace sdot

}  // namespace moecpu::kernels::MOECPU_NEON_NS
