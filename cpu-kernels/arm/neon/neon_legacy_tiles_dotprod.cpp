// armv8.2 NEON tiles of the 32-element block formats with `sdot` (compiled with +dotprod).
#define MOECPU_NEON_USE_SDOT 1
#include "cpu-kernels/arm/neon/neon_legacy_tiles.h"

namespace moecpu::kernels::MOECPU_NEON_NS::sdot {

void tile_q4_0(MOECPU_NEON_TILE_PARAMS) { legacy_mat_tile<Q4_0>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q4_1(MOECPU_NEON_TILE_PARAMS) { legacy_mat_tile<Q4_1>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q5_0(MOECPU_NEON_TILE_PARAMS) { legacy_mat_tile<Q5_0>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q5_1(MOECPU_NEON_TILE_PARAMS) { legacy_mat_tile<Q5_1>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q8_0(MOECPU_NEON_TILE_PARAMS) { legacy_mat_tile<Q8_0>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }

}  // namespace moecpu::kernels::MOECPU_NEON_NS::sdot
