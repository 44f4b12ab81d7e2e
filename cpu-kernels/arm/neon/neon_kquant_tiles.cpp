// Plain armv8-a NEON tiles of the K-quants (int8 dots by widening multiplies).
#include "cpu-kernels/arm/neon/neon_kquant_tiles.h"

namespace moecpu::kernels::MOECPU_NEON_NS {

void tile_q2_K(MOECPU_NEON_TILE_PARAMS) { kquant_mat_tile<Q2K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q3_K(MOECPU_NEON_TILE_PARAMS) { kquant_mat_tile<Q3K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q4_K(MOECPU_NEON_TILE_PARAMS) { kquant_mat_tile<Q4K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q5_K(MOECPU_NEON_TILE_PARAMS) { kquant_mat_tile<Q5K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }
void tile_q6_K(MOECPU_NEON_TILE_PARAMS) { kquant_mat_tile<Q6K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride); }

}  // namespace moecpu::kernels::MOECPU_NEON_NS
