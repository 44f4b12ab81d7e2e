// AVX-512 tiles of Q2_K (scaled digits: q2k_scaled_digits_avx512.h, batched: q2k_gemm_avx512.h)
// and Q3_K (the shared K-quant driver: kquant_tile_avx512.h, batched: q3k_gemm_avx512.h) against
// Q8_K activations. Both keep 2-bit digits in qs:
// for each 128-element half, 32 bytes hold four 32-element runs in bit pairs 0-1, 2-3, 4-5, 6-7;
// sub-blocks of 16 elements follow element order.
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/kquant_tile_avx512.h"
#include "cpu-kernels/x86/avx512/q2k_gemm_avx512.h"
#include "cpu-kernels/x86/avx512/q2k_scaled_digits_avx512.h"
#include "cpu-kernels/x86/avx512/q3k_gemm_avx512.h"
#include "cpu-kernels/x86/avx512/q3k_scales_avx512.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// The 2-bit digits of one 128-element half → two 64-element chunks in element order.
MOECPU_AVX512_INLINE void two_bit_digits_of_half(const uint8_t* qs32, __m512i* first, __m512i* second) {
    const __m512i runs = bytes_and_shifted(qs32, 2);  // [bits 0-1 run | bits 2-3 run] in the low bits
    const __m512i three = _mm512_set1_epi8(3);
    *first = _mm512_and_si512(runs, three);
    *second = _mm512_and_si512(_mm512_srli_epi16(runs, 4), three);
}

// Q3_K: x = d·s·(u − 4) with u = two low bits + 4·(hmask bit) in 0..7; the −4 goes to the bias.
MOECPU_AVX512_INLINE void unpack_q3_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q3_K& x = reinterpret_cast<const block_q3_K*>(row)[b];
    two_bit_digits_of_half(x.qs, &sb->digits[0], &sb->digits[1]);
    two_bit_digits_of_half(x.qs + 32, &sb->digits[2], &sb->digits[3]);
    // hmask bit j of byte l is the high bit of element 32·j + l; chunk c holds runs 2c and 2c+1.
    const __m512i high_bits = bytes_and_shifted(x.hmask, 1);
    const __m512i four = _mm512_set1_epi8(4);
    for (int chunk = 0; chunk < 4; ++chunk) {
        const __mmask64 set = _mm512_test_epi8_mask(high_bits, _mm512_set1_epi8(static_cast<char>(1 << (2 * chunk))));
        sb->digits[chunk] = _mm512_mask_add_epi8(sb->digits[chunk], set, sb->digits[chunk], four);
    }
    const __m256i scales16 = q3_K_signed_scales(x.scales);
    for (int chunk = 0; chunk < 4; ++chunk) sb->scales[chunk] = chunk_scales_per_16(scales16, chunk);
    sb->bias16 = _mm256_slli_epi16(scales16, 2);  // 4·s per group
    sb->d = half_to_float(x.d);
    sb->d_bias = sb->d;
}

}  // namespace

// Q2_K: whole groups of 16 rows go through the batched driver once there are enough columns;
// the other rows, and narrow tiles, through the per-row one.
void mat_tile_q2_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, int nc,
                   float* out, size_t out_stride) {
    TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
    if (nc >= kQ2kGemmMinColumns) {
        const int batched_rows = nr / kQ2kGemmRows * kQ2kGemmRows;
        for (int r = 0; r < batched_rows; r += kQ2kGemmRows)
            for (int c = 0; c < nc; c += kTileCols) q2k_gemm_rows16(t, r, c, nc - c < kTileCols ? nc - c : kTileCols);
        t.w += batched_rows * w_row_bytes;
        t.out += batched_rows;
        t.nr -= batched_rows;
    }
    if (t.nr > 0) run_column_groups(t, q2k_x_q8_K<4>, q2k_x_q8_K<3>, q2k_x_q8_K<2>, q2k_x_q8_K<1>);
}

// Q3_K: as Q2_K, whole groups of 16 rows through the batched driver once there are enough
// columns; the other rows, and narrow tiles, through the shared per-row K-quant driver.
void mat_tile_q3_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, int nc,
                   float* out, size_t out_stride) {
    TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
    if (nc >= kQ3kGemmMinColumns) {
        const int batched_rows = nr / kQ3kGemmRows * kQ3kGemmRows;
        for (int r = 0; r < batched_rows; r += kQ3kGemmRows)
            for (int c = 0; c < nc; c += kTileCols) q3k_gemm_rows16(t, r, c, nc - c < kTileCols ? nc - c : kTileCols);
        t.w += batched_rows * w_row_bytes;
        t.out += batched_rows;
        t.nr -= batched_rows;
    }
    if (t.nr > 0)
        run_column_groups(t, kquant_x_q8_K<4, unpack_q3_K, true>, kquant_x_q8_K<3, unpack_q3_K, true>,
                          kquant_x_q8_K<2, unpack_q3_K, true>, kquant_x_q8_K<1, unpack_q3_K, true>);
}

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
