// AVX-512 tiles of the 32-element block formats: Q4_0 / Q5_0 / Q8_0 against Q8_0 activations and
// Q4_1 / Q5_1 against Q8_1. Two blocks fill one 512-bit register; each weight block pair is
// unpacked once per row and reused for a group of up to four activation columns. Q8_0, Q4_0 and
// Q5_0 tiles with enough rows and columns repack their rows interleaved (legacy_gemm_avx512.h);
// the other Q4_0 / Q5_0 tiles (activations within its stage), and short Q8_0 rows against one or
// two columns, take the matvec of block32_matvec_avx512.h (16 rows reduced together).
//
// Integer products use vpdpbusd (unsigned byte × signed byte, summed into 32-bit lanes), which
// never saturates. For the signed weight formats the activation is made unsigned by flipping its
// sign bit (a + 128); the extra 128·Σw is computed once per weight block pair and used as the
// accumulator's start value with the opposite sign, so every sum is exact for any int8 input.
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "cpu-kernels/x86/avx512/block32_matvec_avx512.h"
#include "cpu-kernels/x86/avx512/legacy_gemm_avx512.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// Two blocks of signed weights: w in element order, −128·Σw per 4-byte group, and the scales.
struct SignedBlockPair {
    __m512i w;
    __m512i minus_128_sum;
    __m128 d;  // [d0, d1, -, -]
};

// Two blocks of unsigned weights with a min: x = d * q + m.
struct UnsignedBlockPair {
    __m512i q;
    __m128 d_and_m_eighths;  // [d0, m0/8, d1, m1/8]; eight lanes per block add up to m (exact)
};

// Two fp16 values → [f0, f1, -, -] with one conversion.
MOECPU_AVX512_INLINE __m128 two_halves(uint16_t h0, uint16_t h1) {
    return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(h0 | (static_cast<uint32_t>(h1) << 16))));
}

// Two pairs of adjacent fp16 fields (d, m of Q4_1 / Q5_1, d, s of Q8_1) → [a0, b0, a1, b1].
MOECPU_AVX512_INLINE __m128 two_half_pairs(const void* pair0, const void* pair1) {
    uint32_t p0 = 0, p1 = 0;
    std::memcpy(&p0, pair0, 4);
    std::memcpy(&p1, pair1, 4);
    return _mm_cvtph_ps(_mm_insert_epi32(_mm_cvtsi32_si128(static_cast<int>(p0)), static_cast<int>(p1), 1));
}

// Lane i of a 4-float vector broadcast over the eight int32 lanes of block 0, lane j over block 1.
alignas(64) constexpr int32_t kSpread01[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
alignas(64) constexpr int32_t kSpread02[16] = {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2};
alignas(64) constexpr int32_t kSpread13[16] = {1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3};
MOECPU_AVX512_INLINE __m512 spread(const int32_t* indices, __m128 v) {
    return _mm512_permutexvar_ps(_mm512_load_si512(indices), _mm512_castps128_ps512(v));
}

using SignedUnpackFn = SignedBlockPair (*)(const uint8_t* row, int64_t b0, int64_t b1);
using UnsignedUnpackFn = UnsignedBlockPair (*)(const uint8_t* row, int64_t b0, int64_t b1);

// The 16 packed bytes of two blocks → their 64 nibbles in element order:
// [low nibbles of block 0 | high nibbles of block 0 | low of block 1 | high of block 1].
MOECPU_AVX512_INLINE __m512i nibbles_of_block_pair(const uint8_t* qs0, const uint8_t* qs1) {
    const __m256i packed = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)), 1);
    const __m512i wide = _mm512_castsi256_si512(packed);
    const __m512i doubled = _mm512_shuffle_i64x2(wide, wide, 0x50);  // 128-bit lanes [0, 0, 1, 1]
    const __m512i high_moved_down = _mm512_srli_epi16(doubled, 4);
    return _mm512_and_si512(_mm512_mask_blend_epi64(0xCC, doubled, high_moved_down), _mm512_set1_epi8(0x0F));
}

// Bit j of each block's 32-bit qh is the fifth bit of element j: one mask bit per byte lane.
MOECPU_AVX512_INLINE __mmask64 fifth_bits_of_block_pair(const uint8_t* qh0, const uint8_t* qh1) {
    uint32_t h0 = 0, h1 = 0;
    std::memcpy(&h0, qh0, 4);
    std::memcpy(&h1, qh1, 4);
    return static_cast<__mmask64>(h0 | (static_cast<uint64_t>(h1) << 32));
}

MOECPU_AVX512_INLINE __m512i bytes_of_block_pair(const int8_t* qs0, const int8_t* qs1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs0))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs1)), 1);
}

MOECPU_AVX512_INLINE __m512i minus_128_times_group_sums(__m512i w) {
    const __m512i zero = _mm512_setzero_si512();
    return _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(static_cast<char>(0x80)), w));
}

MOECPU_AVX512_INLINE SignedBlockPair unpack_q4_0(const uint8_t* row, int64_t b0, int64_t b1) {
    const auto* x = reinterpret_cast<const block_q4_0*>(row);
    const __m512i w = _mm512_sub_epi8(nibbles_of_block_pair(x[b0].qs, x[b1].qs), _mm512_set1_epi8(8));
    return {w, minus_128_times_group_sums(w), two_halves(x[b0].d, x[b1].d)};
}

MOECPU_AVX512_INLINE SignedBlockPair unpack_q5_0(const uint8_t* row, int64_t b0, int64_t b1) {
    const auto* x = reinterpret_cast<const block_q5_0*>(row);
    const __m512i low4 = nibbles_of_block_pair(x[b0].qs, x[b1].qs);
    const __mmask64 fifth = fifth_bits_of_block_pair(x[b0].qh, x[b1].qh);
    // q - 16 = low4 where the fifth bit is set, low4 - 16 where it is not.
    const __m512i w = _mm512_mask_sub_epi8(low4, static_cast<__mmask64>(~fifth), low4, _mm512_set1_epi8(16));
    return {w, minus_128_times_group_sums(w), two_halves(x[b0].d, x[b1].d)};
}

MOECPU_AVX512_INLINE SignedBlockPair unpack_q8_0(const uint8_t* row, int64_t b0, int64_t b1) {
    const auto* x = reinterpret_cast<const block_q8_0*>(row);
    const __m512i w = bytes_of_block_pair(x[b0].qs, x[b1].qs);
    return {w, minus_128_times_group_sums(w), two_halves(x[b0].d, x[b1].d)};
}

// Q4_1 / Q5_1 keep d and m adjacent: [d0, m0/8, d1, m1/8].
MOECPU_AVX512_INLINE __m128 d_and_m_eighths(const uint16_t* dm0, const uint16_t* dm1) {
    return _mm_mul_ps(two_half_pairs(dm0, dm1), _mm_setr_ps(1.0f, 0.125f, 1.0f, 0.125f));
}

MOECPU_AVX512_INLINE UnsignedBlockPair unpack_q4_1(const uint8_t* row, int64_t b0, int64_t b1) {
    const auto* x = reinterpret_cast<const block_q4_1*>(row);
    return {nibbles_of_block_pair(x[b0].qs, x[b1].qs),
            d_and_m_eighths(&x[b0].d, &x[b1].d)};
}

MOECPU_AVX512_INLINE UnsignedBlockPair unpack_q5_1(const uint8_t* row, int64_t b0, int64_t b1) {
    const auto* x = reinterpret_cast<const block_q5_1*>(row);
    const __m512i low4 = nibbles_of_block_pair(x[b0].qs, x[b1].qs);
    const __mmask64 fifth = fifth_bits_of_block_pair(x[b0].qh, x[b1].qh);
    return {_mm512_mask_add_epi8(low4, fifth, low4, _mm512_set1_epi8(16)),
            d_and_m_eighths(&x[b0].d, &x[b1].d)};
}

// Blocks are taken in pairs; an odd last block is paired with itself and its copy masked off.
template <int NC, SignedUnpackFn Unpack>
void signed_weights_x_q8_0(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK8_0;
    const __m512i sign_flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const block_q8_0* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_0*>(t.a + (c0 + c) * t.a_row_bytes);
    for (int r = 0; r < t.nr; ++r) {
        const uint8_t* row = t.w + r * t.w_row_bytes;
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        for (int64_t b0 = 0; b0 < nb; b0 += 2) {
            const bool pair = b0 + 1 < nb;
            const int64_t b1 = pair ? b0 + 1 : b0;
            const __mmask16 lanes = pair ? 0xFFFF : 0x00FF;
            const SignedBlockPair wp = Unpack(row, b0, b1);
            for (int c = 0; c < NC; ++c) {
                const __m512i a_unsigned = _mm512_xor_si512(bytes_of_block_pair(act[c][b0].qs, act[c][b1].qs), sign_flip);
                const __m512i isum = _mm512_dpbusd_epi32(wp.minus_128_sum, a_unsigned, wp.w);
                const __m128 d = _mm_mul_ps(wp.d, two_halves(act[c][b0].d, act[c][b1].d));
                acc[c] = _mm512_mask3_fmadd_ps(_mm512_cvtepi32_ps(isum), spread(kSpread01, d), acc[c], lanes);
            }
        }
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r] = sum_lanes(acc[c]);
    }
}

template <int NC, UnsignedUnpackFn Unpack>
void unsigned_weights_x_q8_1(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK8_1;
    const block_q8_1* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_1*>(t.a + (c0 + c) * t.a_row_bytes);
    for (int r = 0; r < t.nr; ++r) {
        const uint8_t* row = t.w + r * t.w_row_bytes;
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        for (int64_t b0 = 0; b0 < nb; b0 += 2) {
            const bool pair = b0 + 1 < nb;
            const int64_t b1 = pair ? b0 + 1 : b0;
            const __mmask16 lanes = pair ? 0xFFFF : 0x00FF;
            const UnsignedBlockPair wp = Unpack(row, b0, b1);
            for (int c = 0; c < NC; ++c) {
                const __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wp.q,
                                                         bytes_of_block_pair(act[c][b0].qs, act[c][b1].qs));
                // [dw0·da0, m0·s0/8, dw1·da1, m1·s1/8]: the min multiplies the activation block's
                // sum, which Q8_1 carries as s = d * sum(q) right after d.
                const __m128 scales = _mm_mul_ps(wp.d_and_m_eighths, two_half_pairs(&act[c][b0].d, &act[c][b1].d));
                acc[c] = _mm512_mask3_fmadd_ps(_mm512_cvtepi32_ps(isum), spread(kSpread02, scales), acc[c], lanes);
                acc[c] = _mm512_mask_add_ps(acc[c], lanes, acc[c], spread(kSpread13, scales));
            }
        }
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r] = sum_lanes(acc[c]);
    }
}

// Rows × columns from which the interleaved repack beats unpacking row by row. Columns measured
// (moe-bench --kernels, 2048 × 7168, 2 threads: at 2 columns row by row is faster, Q8_0 164-175
// against 143-146 GFLOP/s; at 3 the repack, 201-207 against 161-174; Q4_0 alike); rows estimated
// as for the K-quants (fewer rows leave lanes idle).
constexpr int kBlock32GemmMinRows = 12;
constexpr int kBlock32GemmMinCols = 3;

// Row-by-row kernels of the three tiles that also have the interleaved driver.
template <int NC>
void q4_0_rows(const TileArgs& t, int c0) {
    if (block32_matvec_fits<MatvecQ4_0, NC>(t.k))
        block32_matvec<MatvecQ4_0, NC>(t, c0);
    else
        signed_weights_x_q8_0<NC, unpack_q4_0>(t, c0);
}
// Q8_0 has no nibbles to unpack, so the matvec gains on short rows only, from the reduction:
// measured (one thread, rows in L2 / DRAM) faster up to k = 512 for one or two columns, slower for
// k >= 2048 or more columns.
template <int NC>
void q8_0_rows(const TileArgs& t, int c0) {
    if (NC <= 2 && t.k <= 512)
        block32_matvec<MatvecQ8_0, NC>(t, c0);
    else
        signed_weights_x_q8_0<NC, unpack_q8_0>(t, c0);
}
template <int NC>
void q5_0_rows(const TileArgs& t, int c0) {
    if (block32_matvec_fits<MatvecQ5_0, NC>(t.k))
        block32_matvec<MatvecQ5_0, NC>(t, c0);
    else
        signed_weights_x_q8_0<NC, unpack_q5_0>(t, c0);
}

}  // namespace

#define MOECPU_AVX512_LEGACY_TILE(name, kernel, unpack)                                            \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,                 \
              size_t a_row_bytes, int nc, float* out, size_t out_stride) {                         \
        run_column_groups(make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride), \
                          kernel<4, unpack>, kernel<3, unpack>, kernel<2, unpack>, kernel<1, unpack>); \
    }

// Tiles of at least kBlock32GemmMinCols columns take the interleaved driver for groups of at
// least kBlock32GemmMinRows rows; the rest go row by row (`row_kernel`: Q4_0, Q5_0, Q8_0 through
// block32_matvec_avx512.h where it fits, else signed_weights_x_q8_0).
#define MOECPU_AVX512_LEGACY_GEMM_TILE(name, row_kernel, block_type, interleave)                       \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, \
              int nc, float* out, size_t out_stride) {                                                  \
        TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);       \
        if (nc >= kBlock32GemmMinCols)                                                                  \
            t = block32_gemm_rows<sizeof(block_type), interleave>(t, kBlock32GemmMinRows);             \
        if (t.nr == 0) return;                                                                          \
        run_column_groups(t, row_kernel<4>, row_kernel<3>, row_kernel<2>, row_kernel<1>);               \
    }

MOECPU_AVX512_LEGACY_GEMM_TILE(mat_tile_q4_0, q4_0_rows, block_q4_0, interleave_q4_0)
MOECPU_AVX512_LEGACY_GEMM_TILE(mat_tile_q5_0, q5_0_rows, block_q5_0, interleave_q5_0)
MOECPU_AVX512_LEGACY_GEMM_TILE(mat_tile_q8_0, q8_0_rows, block_q8_0, interleave_q8_0)
MOECPU_AVX512_LEGACY_TILE(mat_tile_q4_1, unsigned_weights_x_q8_1, unpack_q4_1)
MOECPU_AVX512_LEGACY_TILE(mat_tile_q5_1, unsigned_weights_x_q8_1, unpack_q5_1)
#undef MOECPU_AVX512_LEGACY_TILE
#undef MOECPU_AVX512_LEGACY_GEMM_TILE

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
