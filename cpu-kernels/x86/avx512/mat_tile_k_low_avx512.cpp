// AVX-512 tiles of Q2_K (scaled digits: q2k_scaled_digits_avx512.h, batched: q2k_gemm_avx512.h)
// and Q3_K (per row: q3k_row_dot_avx512.h, batched: q3k_gemm_avx512.h) against Q8_K activations.
// Both keep 2-bit digits in qs:
// for each 128-element half, 32 bytes hold four 32-element runs in bit pairs 0-1, 2-3, 4-5, 6-7;
// sub-blocks of 16 elements follow element order.
#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/q2k_gemm_avx512.h"
#include "cpu-kernels/x86/avx512/q2k_scaled_digits_avx512.h"
#include "cpu-kernels/x86/avx512/q3k_gemm_avx512.h"
#include "cpu-kernels/x86/avx512/q3k_row_dot_avx512.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {

namespace {

// Whole groups of 16 rows through a batched driver (q2k_gemm_rows16 / q3k_gemm_rows16), in
// column chunks of kTileCols; returns the rows left for the per-row driver.
template <int kGroupRows, void (*GemmRows16)(const TileArgs&, int r0, int c0, int nc)>
TileArgs run_batched_row_groups(TileArgs t) {
    const int batched_rows = t.nr / kGroupRows * kGroupRows;
    for (int r = 0; r < batched_rows; r += kGroupRows)
        for (int c = 0; c < t.nc; c += kTileCols) GemmRows16(t, r, c, t.nc - c < kTileCols ? t.nc - c : kTileCols);
    t.w += batched_rows * t.w_row_bytes;
    t.out += batched_rows;
    t.nr -= batched_rows;
    return t;
}

}  // namespace

// Q2_K and Q3_K: whole groups of 16 rows go through the batched driver once there are enough
// columns; the other rows, and narrow tiles, through the per-row one.
void mat_tile_q2_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, int nc,
                   float* out, size_t out_stride) {
    TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
    if (nc >= kQ2kGemmMinColumns) t = run_batched_row_groups<kQ2kGemmRows, q2k_gemm_rows16>(t);
    if (t.nr > 0) run_column_groups(t, q2k_x_q8_K<4>, q2k_x_q8_K<3>, q2k_x_q8_K<2>, q2k_x_q8_K<1>);
}

void mat_tile_q3_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, int nc,
                   float* out, size_t out_stride) {
    TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
    if (nc >= kQ3kGemmMinColumns) t = run_batched_row_groups<kQ3kGemmRows, q3k_gemm_rows16>(t);
    if (t.nr > 0)
        run_column_groups(t, q3k_row_x_q8_K<4>, q3k_row_x_q8_K<3>, q3k_row_x_q8_K<2>, q3k_row_x_q8_K<1>);
}

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
