// Batched Q3_K × Q8_K for 16 weight rows and many activation columns (prefill), modelled on
// q2k_gemm_avx512.h. The unsigned digits u = low2 + 4·hbit (0..7) of 16 rows are built
// row-interleaved, so one zmm holds digits 4q..4q+3 of every row (lane r = row r) and one
// vpdpbusd with the column's four activation bytes broadcast does 64 MACs for 16 rows.
// A Q3_K scale s is signed (−32..31), so s·u does not fit a byte: each 16-element sub-block is
// summed on its own (four vpdpbusd into a fresh accumulator) and then scaled per lane. That sum
// is at most 16·7·128 = 14336 in magnitude, so it is its own low int16 half, and one vpdpwssd
// against [s, 0] pairs multiplies it by the row's scale and adds it into the super-block total.
// The −4 offset meets the activation's bsums through int16 pairs [−4·s, −4·s'] in vpdpwssd.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "cpu-kernels/x86/avx512/q2k_gemm_avx512.h"  // transpose_16x16_dwords, broadcast_i32_at
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

constexpr int kQ3kGemmRows = 16;  // one weight row per 32-bit lane
// Super-blocks repacked at a time (5.6 KB each), reused by every column of the tile (measured
// against 2 and 8).
constexpr int kQ3kGemmSlice = 4;
// Below this many columns the repacking does not pay (measured: per-row wins at 2-3 columns; at
// 4 the batched path is 40 % faster for k = 7168 and 10 % slower for k = 2048).
constexpr int kQ3kGemmMinColumns = 4;
constexpr auto kQ3kPrefetchHint = _MM_HINT_T0;  // measured: T1 10 % slower at 8-16 columns

struct Q3kRowInterleaved {
    __m512i quads[QK_K / 4];         // lane r: u8 digits u of elements 4q..4q+3 of row r
    __m512i scales[QK_K / 16];       // lane r: int16 [s, 0] of sub-block g of row r
    __m512i offset_pairs[QK_K / 32];  // lane r: int16 [−4·s, −4·s'] of sub-blocks 2j, 2j+1 of row r
    __m512 d;                        // lane r: d of row r
};

// Scale bytes of a Q3_K block: bytes 0..11 of the second half of the raw load, then d.
constexpr int kQ3kScaleWord = 8;  // first of the three scale words in the transposed tail
constexpr int kQ3kDWord = 11;     // d sits in the low half of this word
static_assert(offsetof(block_q3_K, qs) == offsetof(block_q3_K, hmask) + 32);
static_assert(offsetof(block_q3_K, scales) == offsetof(block_q3_K, qs) + 64);
static_assert(offsetof(block_q3_K, d) == offsetof(block_q3_K, scales) + 12);

// Signed scale g of every row (lane r) from the transposed scale words, as int16 [s, 0]: low
// 4 bits from byte g % 8 (low nibble for g < 8), high 2 bits from byte 8 + g % 4, pair g / 4.
MOECPU_AVX512_INLINE __m512i q3k_lane_scale(const __m512i* scale_words, int g) {
    const int low_shift = 8 * (g % 4) + 4 * (g / 8);
    const int high_shift = 8 * (g % 4) + 2 * (g / 4) - 4;  // lands the pair on bits 4-5
    const __m512i low = _mm512_srli_epi32(scale_words[(g % 8) / 4], low_shift);
    const __m512i high = high_shift < 0 ? _mm512_slli_epi32(scale_words[2], -high_shift)
                                        : _mm512_srli_epi32(scale_words[2], high_shift);
    constexpr int kSelect = 0xD8;  // vpternlog truth table of c ? b : a (bitwise)
    const __m512i biased = _mm512_and_si512(_mm512_ternarylogic_epi32(high, low, _mm512_set1_epi32(0x0F), kSelect),
                                            _mm512_set1_epi32(0x3F));
    return _mm512_and_si512(_mm512_sub_epi32(biased, _mm512_set1_epi32(32)), _mm512_set1_epi32(0xFFFF));
}

// Super-block b of the 16 rows, row-interleaved, from two 16 × 16 dword transposes of the raw
// block bytes: [hmask | qs 0..31] and [qs 32..63 | scales | d] (a masked load: the block ends
// there, and the last row's last block may end the weights).
MOECPU_AVX512_INLINE void q3k_interleave(const block_q3_K* const rows[kQ3kGemmRows], int64_t b, Q3kRowInterleaved* out) {
    __m512i raw[kQ3kGemmRows], front[16], back[16];
    for (int r = 0; r < kQ3kGemmRows; ++r) raw[r] = _mm512_loadu_si512(rows[r][b].hmask);
    transpose_16x16_dwords(raw, front);
    constexpr __mmask64 kTailBytes = (__mmask64{1} << (32 + 12 + 2)) - 1;
    for (int r = 0; r < kQ3kGemmRows; ++r) raw[r] = _mm512_maskz_loadu_epi8(kTailBytes, rows[r][b].qs + 32);
    transpose_16x16_dwords(raw, back);

    for (int j = 0; j < QK_K / 32; ++j) {
        const __m512i even = q3k_lane_scale(back + kQ3kScaleWord, 2 * j);
        const __m512i odd = q3k_lane_scale(back + kQ3kScaleWord, 2 * j + 1);
        out->scales[2 * j] = even;
        out->scales[2 * j + 1] = odd;
        const __m512i pair = _mm512_or_si512(even, _mm512_slli_epi32(odd, 16));
        out->offset_pairs[j] = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(pair, 2));
    }
    out->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(back[kQ3kDWord]));

    // qs word l of half h (front[8 + l], back[l]) holds bytes 4l.. of that half: its bit pair j
    // is quad 32h + 8j + l. The high bit of element 32t + 4l + i is bit t of hmask byte 4l + i,
    // i.e. of front[l]; with t = 4h + j it belongs to the same quad and is moved to bit 2.
    const __m512i three = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
    constexpr int kAndOr = 0xEA;  // vpternlog truth table of (a & b) | c
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
#pragma GCC unroll 8
            for (int l = 0; l < 8; ++l) {
                const __m512i word = h == 0 ? front[8 + l] : back[l];
                const __m512i bits = j == 0 ? word : _mm512_srli_epi32(word, 2 * j);
                const int t = 4 * h + j;
                const __m512i high = front[l];
                const __m512i moved = t < 2 ? _mm512_slli_epi32(high, 2 - t) : t == 2 ? high : _mm512_srli_epi32(high, t - 2);
                const __m512i high4 = _mm512_and_si512(moved, four);
                out->quads[32 * h + 8 * j + l] = _mm512_ternarylogic_epi32(bits, three, high4, kAndOr);
            }
}

// tot[c] lane r += the dots of row r with column c over the slice's n blocks; act[c] points at
// column c's Q8_K block matching blocks[0].
template <int NC>
void q3k_interleaved_dot_columns(const Q3kRowInterleaved* blocks, int n, const block_q8_K* const act[NC], __m512* tot) {
    for (int i = 0; i < n; ++i) {
        const Q3kRowInterleaved& w = blocks[i];
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm512_setzero_si512();
        for (int j = 0; j < QK_K / 32; ++j) {
            const __m512i pair = _mm512_load_si512(&w.offset_pairs[j]);
            for (int c = 0; c < NC; ++c) isum[c] = _mm512_dpwssd_epi32(isum[c], pair, broadcast_i32_at(act[c][i].bsums + 2 * j));
        }
        for (int g = 0; g < QK_K / 16; ++g) {
            const __m512i* quads = w.quads + 4 * g;
            const __m512i q0 = _mm512_load_si512(quads), q1 = _mm512_load_si512(quads + 1);
            const __m512i q2 = _mm512_load_si512(quads + 2), q3 = _mm512_load_si512(quads + 3);
            const __m512i scale = _mm512_load_si512(&w.scales[g]);
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = act[c][i].qs + 16 * g;
                __m512i sub = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q0, broadcast_i32_at(a));
                sub = _mm512_dpbusd_epi32(sub, q1, broadcast_i32_at(a + 4));
                sub = _mm512_dpbusd_epi32(sub, q2, broadcast_i32_at(a + 8));
                sub = _mm512_dpbusd_epi32(sub, q3, broadcast_i32_at(a + 12));
                isum[c] = _mm512_dpwssd_epi32(isum[c], sub, scale);
            }
        }
        for (int c = 0; c < NC; ++c) {
            const __m512 sum = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[c]), w.d);
            tot[c] = _mm512_fmadd_ps(sum, _mm512_set1_ps(act[c][i].d), tot[c]);
        }
    }
}

// The repacking reads 16 rows' blocks from memory; without prefetching it waits on those loads
// (measured: most of the repacking time). Block b of each row is fetched; past the row's end
// (b >= nb) the next 16 rows' block b − nb, which the next call repacks first. A block touches
// up to three lines, the third one also the next block's first. Integer arithmetic: the address
// may lie past the weights, which a prefetch never faults on.
MOECPU_AVX512_INLINE void q3k_prefetch_rows(const block_q3_K* const rows[kQ3kGemmRows], int64_t b, int64_t nb,
                                            size_t row_bytes) {
    const uintptr_t skip = b < nb ? 0 : kQ3kGemmRows * row_bytes - static_cast<uintptr_t>(nb) * sizeof(block_q3_K);
    for (int r = 0; r < kQ3kGemmRows; ++r) {
        const uintptr_t at = reinterpret_cast<uintptr_t>(rows[r]) + static_cast<uintptr_t>(b) * sizeof(block_q3_K) + skip;
        _mm_prefetch(reinterpret_cast<const char*>(at), kQ3kPrefetchHint);
        _mm_prefetch(reinterpret_cast<const char*>(at + 64), kQ3kPrefetchHint);
    }
}

// Rows r0..r0+15 against columns c0..c0+nc-1 (nc <= kTileCols).
inline void q3k_gemm_rows16(const TileArgs& t, int r0, int c0, int nc) {
    const int64_t nb = t.k / QK_K;
    const block_q3_K* rows[kQ3kGemmRows];
    for (int r = 0; r < kQ3kGemmRows; ++r) rows[r] = reinterpret_cast<const block_q3_K*>(t.w + (r0 + r) * t.w_row_bytes);
    const block_q8_K* cols[kTileCols];
    for (int c = 0; c < nc; ++c) cols[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    __m512 tot[kTileCols];
    for (int c = 0; c < nc; ++c) tot[c] = _mm512_setzero_ps();
    Q3kRowInterleaved slice[kQ3kGemmSlice];
    for (int64_t b0 = 0; b0 < nb; b0 += kQ3kGemmSlice) {
        const int n = static_cast<int>(nb - b0 < kQ3kGemmSlice ? nb - b0 : kQ3kGemmSlice);
        for (int i = 0; i < n; ++i) {
            q3k_prefetch_rows(rows, b0 + i + kQ3kGemmSlice, nb, t.w_row_bytes);
            q3k_interleave(rows, b0 + i, &slice[i]);
        }
        const block_q8_K* act[8];
        int c = 0;
        // Eight columns: eight independent chains per loaded quad register.
        for (; c + 8 <= nc; c += 8) {
            for (int j = 0; j < 8; ++j) act[j] = cols[c + j] + b0;
            q3k_interleaved_dot_columns<8>(slice, n, act, tot + c);
        }
        for (int width = 4; width >= 1; width /= 2) {
            if (nc - c < width) continue;
            for (int j = 0; j < width; ++j) act[j] = cols[c + j] + b0;
            if (width == 4) q3k_interleaved_dot_columns<4>(slice, n, act, tot + c);
            if (width == 2) q3k_interleaved_dot_columns<2>(slice, n, act, tot + c);
            if (width == 1) q3k_interleaved_dot_columns<1>(slice, n, act, tot + c);
            c += width;
        }
    }
    for (int c = 0; c < nc; ++c) {
        alignas(64) float lanes[kQ3kGemmRows];
        _mm512_store_ps(lanes, tot[c]);
        float* out = t.out + (c0 + c) * t.out_stride + r0;
        for (int r = 0; r < kQ3kGemmRows; ++r) out[r] = lanes[r];
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
