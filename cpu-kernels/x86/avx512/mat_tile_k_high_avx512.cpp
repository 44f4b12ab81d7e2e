// AVX-512 tiles of Q4_K, Q5_K and Q6_K against Q8_K activations. Small batches unpack row by row
// (Q4_K: q4k_row_dot_avx512.h, the others: kquant_tile_avx512.h); tiles with enough rows and
// columns repack their rows interleaved (kquant_gemm_avx512.h).
#include <cstddef>
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/kquant_gemm_avx512.h"
#include "cpu-kernels/x86/avx512/kquant_tile_avx512.h"
#include "cpu-kernels/x86/avx512/q4k_row_dot_avx512.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// The 4-bit digits of Q4_K / Q5_K: 32 bytes hold two 32-element sub-blocks, low nibbles first.
MOECPU_AVX512_INLINE __m512i nibble_chunk(const uint8_t* qs32) {
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs32)));
    return _mm512_and_si512(_mm512_mask_blend_epi64(0xF0, both, _mm512_srli_epi16(both, 4)), _mm512_set1_epi8(0x0F));
}

// The eight 6-bit scales and mins of Q4_K / Q5_K packed in 12 bytes (ggml's get_scale_min_k4):
// scales 0-3 and mins 0-3 are the low 6 bits of bytes 0-3 and 4-7; scales / mins 4-7 take their
// low 4 bits from the low / high nibbles of bytes 8-11 and their top 2 bits from the top 2 bits
// of bytes 0-3 / 4-7. Four values are assembled per 32-bit word.
MOECPU_AVX512_INLINE void q4_K_scales_and_mins(const uint8_t p[12], __m128i* scales16, __m256i* bias16) {
    uint32_t word[3];
    std::memcpy(word, p, 12);
    const uint32_t six_bits = 0x3F3F3F3Fu, nibbles = 0x0F0F0F0Fu, pairs = 0x03030303u;
    const uint32_t scales_lo = word[0] & six_bits;
    const uint32_t mins_lo = word[1] & six_bits;
    const uint32_t scales_hi = (word[2] & nibbles) | (((word[0] >> 6) & pairs) << 4);
    const uint32_t mins_hi = ((word[2] >> 4) & nibbles) | (((word[1] >> 6) & pairs) << 4);
    *scales16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(scales_hi), static_cast<int>(scales_lo)));
    // One min per 32 elements = two bsums groups: [m0 m0 m1 m1 … m7 m7].
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(mins_hi), static_cast<int>(mins_lo)));
    *bias16 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(mins16, mins16)),
                                      _mm_unpackhi_epi16(mins16, mins16), 1);
}

// Q5_K: as Q4_K with u in 0..31; bit j of qh[l] is the fifth bit of element 32·j + l.
MOECPU_AVX512_INLINE void unpack_q5_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q5_K& x = reinterpret_cast<const block_q5_K*>(row)[b];
    __m128i scales16;
    q4_K_scales_and_mins(x.scales, &scales16, &sb->bias16);
    const __m512i high_bits = bytes_and_shifted(x.qh, 1);
    const __m512i sixteen = _mm512_set1_epi8(16);
    for (int chunk = 0; chunk < 4; ++chunk) {
        const __m512i low4 = nibble_chunk(x.qs + 32 * chunk);
        const __mmask64 set = _mm512_test_epi8_mask(high_bits, _mm512_set1_epi8(static_cast<char>(1 << (2 * chunk))));
        sb->digits[chunk] = _mm512_mask_add_epi8(low4, set, low4, sixteen);
        sb->scales[chunk] = chunk_scales_per_32(scales16, chunk);
    }
    sb->d = half_to_float(x.d);
    sb->d_bias = half_to_float(x.dmin);
}

// Q6_K: x = d·sc·(u − 32) per 16-element sub-block, u in 0..63 from 4 bits of ql and 2 of qh.
// Per 128-element half: ql[0..63] low nibbles are elements 0..63, high nibbles 64..127;
// qh[l] bit pairs 0-1, 2-3, 4-5, 6-7 belong to elements l, l+32, l+64, l+96.
MOECPU_AVX512_INLINE void unpack_q6_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q6_K& x = reinterpret_cast<const block_q6_K*>(row)[b];
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
        const __m512i ql = _mm512_loadu_si512(x.ql + 64 * half);
        const __m512i qh = bytes_and_shifted(x.qh + 32 * half, 2);  // pairs [0-1 | 2-3] then [4-5 | 6-7]
        sb->digits[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                               _mm512_and_si512(_mm512_slli_epi16(qh, 4), bits45));
        sb->digits[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                                   _mm512_and_si512(qh, bits45));
    }
    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
    for (int chunk = 0; chunk < 4; ++chunk) sb->scales[chunk] = chunk_scales_per_16(scales16, chunk);
    sb->bias16 = _mm256_slli_epi16(scales16, 5);  // 32·sc per group
    sb->d = half_to_float(x.d);
    sb->d_bias = sb->d;
}

// ---- Row-interleaved repacks (kquant_gemm_avx512.h) ----------------------------------------

// The Q4_K / Q5_K header words of 16 rows (d | dmin, then the 12 scale bytes) → per-row float
// scales d·sc of the eight sub-blocks, the mins as int16 pairs of sub-blocks (2p, 2p + 1), and
// dmin. The 6-bit fields unpack as in q4_K_scales_and_mins, one row per lane. `odd_scale`
// multiplies the scales of odd sub-blocks (1/16 where their digits are kept ×16).
MOECPU_AVX512_INLINE void interleave_q4_K_scales(const __m512i head[4], float odd_scale, InterleavedSuperBlock<8>* out) {
    const __m512i six_bits = _mm512_set1_epi32(0x3F3F3F3F), nibbles = _mm512_set1_epi32(0x0F0F0F0F);
    const __m512i pairs = _mm512_set1_epi32(0x03030303), byte = _mm512_set1_epi32(0xFF);
    const __m512i words[4] = {
        _mm512_and_si512(head[1], six_bits),  // scales 0-3
        _mm512_or_si512(_mm512_and_si512(head[3], nibbles),
                        _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(head[1], 6), pairs), 4)),  // scales 4-7
        _mm512_and_si512(head[2], six_bits),  // mins 0-3
        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(head[3], 4), nibbles),
                        _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(head[2], 6), pairs), 4)),  // mins 4-7
    };
    const __m512 d = halves_to_float(head[0], false);
    const __m512 d_odd = _mm512_mul_ps(d, _mm512_set1_ps(odd_scale));
    for (int s = 0; s < 8; ++s) {
        const __m512i sc = _mm512_and_si512(_mm512_srli_epi32(words[s / 4], 8 * (s % 4)), byte);
        out->scales[s] = _mm512_mul_ps(_mm512_cvtepi32_ps(sc), s % 2 ? d_odd : d);
    }
    // Mins 2p and 2p + 1 are bytes 2(p % 2) and 2(p % 2) + 1 of a mins word: as int16 pairs.
    for (int p = 0; p < 4; ++p) {
        const __m512i two_mins = _mm512_srli_epi32(words[2 + p / 2], 16 * (p % 2));
        out->bias_pairs[p] = _mm512_or_si512(_mm512_and_si512(two_mins, _mm512_set1_epi32(0xFF)),
                                             _mm512_and_si512(_mm512_slli_epi32(two_mins, 8), _mm512_set1_epi32(0xFF0000)));
    }
    out->bias_scale = halves_to_float(head[0], true);
}

// Q4_K / Q5_K qs word i (of 32): chunk j = i / 8 holds sub-blocks 2j (low nibbles) and 2j + 1
// (high), elements 4·(i % 8)..+3 of each. kHighTimes16: the high nibbles stay in place, as
// digits ×16 (≤ 240, still exact in vpdpbusd), which saves a shift per word.
template <bool kHighTimes16>
MOECPU_AVX512_INLINE void interleave_nibbles(RowBlocks rows, size_t qs_offset,
                                             InterleavedSuperBlock<8>* out) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), high4 = _mm512_set1_epi8(static_cast<char>(0xF0));
    for (int piece = 0; piece < 8; ++piece) {
        __m512i qs[4];
        transpose_16x4_words(rows, qs_offset + 16 * piece, qs);
        for (int t = 0; t < 4; ++t) {
            const int i = 4 * piece + t, j = i / 8, g = i % 8;
            out->quads[16 * j + g] = _mm512_and_si512(qs[t], low4);
            out->quads[16 * j + 8 + g] = kHighTimes16 ? _mm512_and_si512(qs[t], high4)
                                                      : _mm512_and_si512(_mm512_srli_epi16(qs[t], 4), low4);
        }
    }
}

// vpternlogd truth table of a | (b & c).
constexpr int kOrAnd = 0xF8;

MOECPU_AVX512_INLINE void interleave_q4_K(RowBlocks rows, int64_t b, InterleavedSuperBlock<8>* out) {
    const size_t block = size_t(b) * sizeof(block_q4_K);
    __m512i head[4];
    transpose_16x4_words(rows, block, head);
    interleave_q4_K_scales(head, 1.0f / 16, out);
    interleave_nibbles<true>(rows, block + offsetof(block_q4_K, qs), out);
}

// Q5_K: bit s of qh[l] is the fifth bit of element l of sub-block s, so qh word g (of 8) holds
// those of elements 4g..4g+3 of every sub-block.
MOECPU_AVX512_INLINE void interleave_q5_K(RowBlocks rows, int64_t b, InterleavedSuperBlock<8>* out) {
    const size_t block = size_t(b) * sizeof(block_q5_K);
    __m512i head[4], qh[8];
    transpose_16x4_words(rows, block, head);
    interleave_q4_K_scales(head, 1.0f, out);
    interleave_nibbles<false>(rows, block + offsetof(block_q5_K, qs), out);
    transpose_16x4_words(rows, block + offsetof(block_q5_K, qh), qh);
    transpose_16x4_words(rows, block + offsetof(block_q5_K, qh) + 16, qh + 4);
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    for (int s = 0; s < 8; ++s)
        for (int g = 0; g < 8; ++g) {
            const __m512i moved = s <= 4 ? _mm512_slli_epi32(qh[g], 4 - s) : _mm512_srli_epi32(qh[g], s - 4);
            out->quads[8 * s + g] = _mm512_ternarylogic_epi32(out->quads[8 * s + g], moved, bit4, kOrAnd);
        }
}

// Q6_K: x = d·sc·(u − 32) per 16-element group, u in 0..63 (layout as in unpack_q6_K). Per
// 128-element half h, quad q (of 32): low bits from ql word 16h + q % 16 (low nibbles for
// q < 16, high otherwise), high bits from bit pair q / 8 of qh word 8h + q % 8.
MOECPU_AVX512_INLINE void interleave_q6_K(RowBlocks rows, int64_t b, InterleavedSuperBlock<16>* out) {
    const size_t block = size_t(b) * sizeof(block_q6_K);
    __m512i sc_words[4], tail[4];
    transpose_16x4_words(rows, block + offsetof(block_q6_K, scales), sc_words);
    // d sits in the upper half of the last word of the 16 bytes ending the block (a load at d
    // itself would run past the row).
    transpose_16x4_words(rows, block + sizeof(block_q6_K) - 16, tail);
    static_assert(offsetof(block_q6_K, d) == sizeof(block_q6_K) - 2, "d ends the block");
    const __m512 d = halves_to_float(tail[3], true);
    const __m512i byte = _mm512_set1_epi32(0xFF), sign = _mm512_set1_epi32(0x80);
    for (int g = 0; g < 16; ++g) {
        const __m512i u = _mm512_and_si512(_mm512_srli_epi32(sc_words[g / 4], 8 * (g % 4)), byte);
        const __m512i sc = _mm512_sub_epi32(_mm512_xor_si512(u, sign), sign);  // sign-extended
        out->scales[g] = _mm512_mul_ps(_mm512_cvtepi32_ps(sc), d);
    }
    out->bias_scale = d;  // unused: the offset is subtracted in the integer sums

    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
        __m512i ql[16], qh[8];
        for (int p = 0; p < 4; ++p)
            transpose_16x4_words(rows, block + offsetof(block_q6_K, ql) + 64 * half + 16 * p, ql + 4 * p);
        for (int p = 0; p < 2; ++p)
            transpose_16x4_words(rows, block + offsetof(block_q6_K, qh) + 32 * half + 16 * p, qh + 4 * p);
        for (int q = 0; q < 32; ++q) {
            const __m512i low = q < 16 ? _mm512_and_si512(ql[q], low4)
                                       : _mm512_and_si512(_mm512_srli_epi16(ql[q - 16], 4), low4);
            const int pair = q / 8;  // bits 2·pair, 2·pair + 1 → bits 4, 5
            const __m512i moved = pair <= 2 ? _mm512_slli_epi32(qh[q % 8], 4 - 2 * pair) : _mm512_srli_epi32(qh[q % 8], 2);
            out->quads[32 * half + q] = _mm512_ternarylogic_epi32(low, moved, bits45, kOrAnd);
        }
    }
}

// Rows × columns from which the interleaved repack beats unpacking row by row. Columns measured
// (moe-bench --kernels, weights streamed from memory: 3 columns are faster row by row, 4
// interleaved, for Q4_K, Q5_K and Q6_K); rows estimated (fewer rows leave lanes idle).
constexpr int kGemmMinRows = 12;
constexpr int kGemmMinCols = 4;

}  // namespace

// Tiles of at least kGemmMinCols columns take the interleaved driver for groups of at least
// kGemmMinRows rows; the rest go row by row.
#define MOECPU_AVX512_KQUANT_GEMM_TILE(name, block_type, unpack, bias_shares_d, groups, group_offset, interleave) \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes,  \
              int nc, float* out, size_t out_stride) {                                                   \
        TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);        \
        if (nc >= kGemmMinCols) t = kquant_gemm_rows<groups, group_offset, sizeof(block_type), interleave>(t, kGemmMinRows); \
        if (t.nr == 0) return;                                                                           \
        run_column_groups(t, kquant_x_q8_K<4, unpack, bias_shares_d>, kquant_x_q8_K<3, unpack, bias_shares_d>, \
                          kquant_x_q8_K<2, unpack, bias_shares_d>, kquant_x_q8_K<1, unpack, bias_shares_d>);  \
    }

void mat_tile_q4_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a, size_t a_row_bytes, int nc,
                   float* out, size_t out_stride) {
    TileArgs t = make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
    if (nc >= kGemmMinCols) t = kquant_gemm_rows<8, 0, sizeof(block_q4_K), interleave_q4_K>(t, kGemmMinRows);
    if (t.nr == 0) return;
    run_column_groups(t, q4k_row_x_q8_K<4>, q4k_row_x_q8_K<3>, q4k_row_x_q8_K<2>, q4k_row_x_q8_K<1>);
}
MOECPU_AVX512_KQUANT_GEMM_TILE(mat_tile_q5_K, block_q5_K, unpack_q5_K, false, 8, 0, interleave_q5_K)
MOECPU_AVX512_KQUANT_GEMM_TILE(mat_tile_q6_K, block_q6_K, unpack_q6_K, true, 16, 32, interleave_q6_K)

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
