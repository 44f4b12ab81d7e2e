// Batched Q2_K × Q8_K for 16 weight rows and many activation columns (prefill). The per-row
// driver (q2k_scaled_digits_avx512.h) spends four vpdpbusd plus six ops of mins and float work
// per row, super-block and column. Here the scaled digits of 16 rows (the same trick: vpshufb of
// [0, s, 2s, 3s] tables) are built row-interleaved, so one zmm holds the scaled digits 4q..4q+3
// of every row (lane r = row r): one vpdpbusd with the column's four activation bytes broadcast
// does 64 MACs for 16 rows, and the mins (vpdpwssd on bsum pairs) and the float work per
// super-block and column serve 16 rows at once. A slice of super-blocks is repacked at a time
// and reused by every column of the tile.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

constexpr int kQ2kGemmRows = 16;   // one weight row per 32-bit lane
// Super-blocks repacked at a time: 4 × 4.6 KB stay in L1 (measured against 2 and 8).
constexpr int kQ2kGemmSlice = 4;
// Below this many columns the repacking does not pay (measured with prefetching: per-row 20 %
// faster at 4 columns, 7 % slower at 5, 20 % slower at 7).
constexpr int kQ2kGemmMinColumns = 5;
constexpr auto kQ2kPrefetchHint = _MM_HINT_T0;  // measured: T1 no faster, up to 4 % slower

struct Q2kRowInterleaved {
    __m512i quads[QK_K / 4];       // lane r: u8 scaled digits 4q..4q+3 of row r
    __m512i min_pairs[QK_K / 32];  // lane r: int16 mins of sub-blocks 2j and 2j+1 of row r
    __m512 d;                      // lane r: d of row r
    __m512 dmin;                   // lane r: dmin of row r
};

// out[j] dword i = in[i] dword j, for 16 registers of 16 dwords.
MOECPU_AVX512_INLINE void transpose_16x16_dwords(const __m512i* in, __m512i* out) {
    // After two unpack rounds, x[g][j] lane L holds dword 4L + j of rows 4g..4g+3.
    __m512i x[4][4];
    for (int g = 0; g < 4; ++g) {
        const __m512i* r = in + 4 * g;
        const __m512i lo01 = _mm512_unpacklo_epi32(r[0], r[1]), hi01 = _mm512_unpackhi_epi32(r[0], r[1]);
        const __m512i lo23 = _mm512_unpacklo_epi32(r[2], r[3]), hi23 = _mm512_unpackhi_epi32(r[2], r[3]);
        x[g][0] = _mm512_unpacklo_epi64(lo01, lo23);
        x[g][1] = _mm512_unpackhi_epi64(lo01, lo23);
        x[g][2] = _mm512_unpacklo_epi64(hi01, hi23);
        x[g][3] = _mm512_unpackhi_epi64(hi01, hi23);
    }
    // Then a 4 × 4 transpose of 128-bit lanes: out[4L + j] lane g = x[g][j] lane L.
    for (int j = 0; j < 4; ++j) {
        const __m512i y0 = _mm512_shuffle_i32x4(x[0][j], x[1][j], 0x44);  // x0.L0 x0.L1 x1.L0 x1.L1
        const __m512i y1 = _mm512_shuffle_i32x4(x[0][j], x[1][j], 0xEE);  // x0.L2 x0.L3 x1.L2 x1.L3
        const __m512i y2 = _mm512_shuffle_i32x4(x[2][j], x[3][j], 0x44);
        const __m512i y3 = _mm512_shuffle_i32x4(x[2][j], x[3][j], 0xEE);
        out[0 + j] = _mm512_shuffle_i32x4(y0, y2, 0x88);   // lanes 0, 2 of each: L0
        out[4 + j] = _mm512_shuffle_i32x4(y0, y2, 0xDD);   // lanes 1, 3 of each: L1
        out[8 + j] = _mm512_shuffle_i32x4(y1, y3, 0x88);   // L2
        out[12 + j] = _mm512_shuffle_i32x4(y1, y3, 0xDD);  // L3
    }
}

// Constants of the row-interleaved unpacking. In a register whose lane r (dword r) belongs to
// row r, 128-bit lane i holds rows 4i..4i+3, so a vpshufb table for one sub-block keeps row
// 4i + k's [0, s, 2s, 3s] in dword k of lane i and the digits u of dword k look up index 4k + u.
struct Q2kInterleaveConstants {
    alignas(64) uint32_t row_offset[16];    // 0x04040404·k in dword k of every lane
    alignas(64) uint8_t min_pair[2][64];    // vpshufb: scale bytes 2p, 2p+1 of each dword → int16
};
constexpr Q2kInterleaveConstants make_q2k_interleave_constants() {
    Q2kInterleaveConstants k{};
    for (int i = 0; i < 16; ++i) k.row_offset[i] = 0x04040404u * static_cast<uint32_t>(i % 4);
    for (int p = 0; p < 2; ++p)
        for (int i = 0; i < 64; ++i) {
            const int dword_start = i / 4 * 4 % 16;  // byte offset of the dword inside its lane
            const int byte = i % 4;
            k.min_pair[p][i] = byte % 2 ? uint8_t{0x80} : static_cast<uint8_t>(dword_start + 2 * p + byte / 2);
        }
    return k;
}
alignas(64) constexpr Q2kInterleaveConstants kQ2kInterleave = make_q2k_interleave_constants();

// out[w] lane r = dword w (w < 4) of the 16 scale bytes of row r: four rows per register through
// 128-bit inserts, then the 4 × 4 dword transposes inside the lanes.
MOECPU_AVX512_INLINE void q2k_transposed_scales(const block_q2_K* const rows[kQ2kGemmRows], int64_t b, __m512i out[4]) {
    __m512i z[4];
    for (int j = 0; j < 4; ++j) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[j][b].scales)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[4 + j][b].scales)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[8 + j][b].scales)), 2);
        z[j] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[12 + j][b].scales)), 3);
    }
    const __m512i lo01 = _mm512_unpacklo_epi32(z[0], z[1]), hi01 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i lo23 = _mm512_unpacklo_epi32(z[2], z[3]), hi23 = _mm512_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm512_unpacklo_epi64(lo01, lo23);
    out[1] = _mm512_unpackhi_epi64(lo01, lo23);
    out[2] = _mm512_unpacklo_epi64(hi01, hi23);
    out[3] = _mm512_unpackhi_epi64(hi01, hi23);
}

// Super-block b of the 16 rows, row-interleaved: the raw bytes are transposed first (qs: one
// 16 × 16 dword transpose) and the digits unpacked and scaled in that form.
MOECPU_AVX512_INLINE void q2k_interleave(const block_q2_K* const rows[kQ2kGemmRows], int64_t b, Q2kRowInterleaved* out) {
    __m512i scales[4];
    q2k_transposed_scales(rows, b, scales);
    for (int j = 0; j < QK_K / 32; ++j) {
        const __m512i spread = _mm512_shuffle_epi8(scales[j / 2], _mm512_load_si512(kQ2kInterleave.min_pair[j % 2]));
        out->min_pairs[j] = _mm512_srli_epi16(spread, 4);  // high nibbles: the mins
    }

    __m512i raw[kQ2kGemmRows], words[16];
    for (int r = 0; r < kQ2kGemmRows; ++r) raw[r] = _mm512_loadu_si512(rows[r][b].qs);
    transpose_16x16_dwords(raw, words);
    // Word 8h + l holds bytes 4l.. of half h: its bit pair j is quad 32h + 8j + l, in sub-block
    // 8h + 2j + l / 4, whose scale is byte g % 4 of scale word g / 4.
    const __m512i three = _mm512_set1_epi8(3), low4 = _mm512_set1_epi32(0x0F);
    const __m512i times_0123 = _mm512_set1_epi32(0x03020100);
    const __m512i row_offset = _mm512_load_si512(kQ2kInterleave.row_offset);
    constexpr int kAndOr = 0xEA;  // vpternlog truth table of (a & b) | c
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
            __m512i tables[2];  // [0, s, 2s, 3s] of sub-blocks 8h + 2j and 8h + 2j + 1, every row
            for (int t = 0; t < 2; ++t) {
                const int g = 8 * h + 2 * j + t;
                const __m512i s = _mm512_and_si512(_mm512_srli_epi32(scales[g / 4], 8 * (g % 4)), low4);
                tables[t] = _mm512_mullo_epi32(s, times_0123);
            }
#pragma GCC unroll 8
            for (int l = 0; l < 8; ++l) {
                const __m512i word = words[8 * h + l];
                const __m512i bits = j == 0 ? word : _mm512_srli_epi32(word, 2 * j);
                const __m512i index = _mm512_ternarylogic_epi32(bits, three, row_offset, kAndOr);
                out->quads[32 * h + 8 * j + l] = _mm512_shuffle_epi8(tables[l / 4], index);
            }
        }

    alignas(32) uint16_t d[kQ2kGemmRows], dmin[kQ2kGemmRows];
    for (int r = 0; r < kQ2kGemmRows; ++r) {
        d[r] = rows[r][b].d;
        dmin[r] = rows[r][b].dmin;
    }
    out->d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d)));
    out->dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(dmin)));
}

MOECPU_AVX512_INLINE __m512i broadcast_i32_at(const void* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

// tot[c] lane r += the dots of row r with column c over the slice's n blocks; act[c] points at
// column c's Q8_K block matching blocks[0].
template <int NC>
void q2k_interleaved_dot_columns(const Q2kRowInterleaved* blocks, int n, const block_q8_K* const act[NC], __m512* tot) {
    for (int i = 0; i < n; ++i) {
        const Q2kRowInterleaved& w = blocks[i];
        __m512i isum[NC], msum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = msum[c] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int q = 0; q < QK_K / 4; ++q) {
            const __m512i quad = _mm512_load_si512(&w.quads[q]);
            for (int c = 0; c < NC; ++c) isum[c] = _mm512_dpbusd_epi32(isum[c], quad, broadcast_i32_at(act[c][i].qs + 4 * q));
        }
        for (int j = 0; j < QK_K / 32; ++j) {
            const __m512i pair = _mm512_load_si512(&w.min_pairs[j]);
            for (int c = 0; c < NC; ++c) msum[c] = _mm512_dpwssd_epi32(msum[c], pair, broadcast_i32_at(act[c][i].bsums + 2 * j));
        }
        for (int c = 0; c < NC; ++c) {
            __m512 sum = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[c]), w.d);
            sum = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[c]), w.dmin, sum);
            tot[c] = _mm512_fmadd_ps(sum, _mm512_set1_ps(act[c][i].d), tot[c]);
        }
    }
}

// The repacking waits on the 16 rows' block loads unless they were fetched ahead, as in
// q3k_gemm_avx512.h: block b of each row, or past the row's end (b >= nb) the next 16 rows'
// block b − nb, which the next call repacks first. An 84-byte block spans at most three lines,
// the third one also the next block's first. Integer arithmetic: the address may lie past the
// weights, which a prefetch never faults on.
MOECPU_AVX512_INLINE void q2k_prefetch_rows(const block_q2_K* const rows[kQ2kGemmRows], int64_t b, int64_t nb,
                                            size_t row_bytes) {
    const uintptr_t skip = b < nb ? 0 : kQ2kGemmRows * row_bytes - static_cast<uintptr_t>(nb) * sizeof(block_q2_K);
    for (int r = 0; r < kQ2kGemmRows; ++r) {
        const uintptr_t at = reinterpret_cast<uintptr_t>(rows[r]) + static_cast<uintptr_t>(b) * sizeof(block_q2_K) + skip;
        _mm_prefetch(reinterpret_cast<const char*>(at), kQ2kPrefetchHint);
        _mm_prefetch(reinterpret_cast<const char*>(at + 64), kQ2kPrefetchHint);
    }
}

// Rows r0..r0+15 against columns c0..c0+nc-1 (nc <= kTileCols).
inline void q2k_gemm_rows16(const TileArgs& t, int r0, int c0, int nc) {
    const int64_t nb = t.k / QK_K;
    const block_q2_K* rows[kQ2kGemmRows];
    for (int r = 0; r < kQ2kGemmRows; ++r) rows[r] = reinterpret_cast<const block_q2_K*>(t.w + (r0 + r) * t.w_row_bytes);
    const block_q8_K* cols[kTileCols];
    for (int c = 0; c < nc; ++c) cols[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    __m512 tot[kTileCols];
    for (int c = 0; c < nc; ++c) tot[c] = _mm512_setzero_ps();
    Q2kRowInterleaved slice[kQ2kGemmSlice];
    for (int64_t b0 = 0; b0 < nb; b0 += kQ2kGemmSlice) {
        const int n = static_cast<int>(nb - b0 < kQ2kGemmSlice ? nb - b0 : kQ2kGemmSlice);
        for (int i = 0; i < n; ++i) {
            q2k_prefetch_rows(rows, b0 + i + kQ2kGemmSlice, nb, t.w_row_bytes);
            q2k_interleave(rows, b0 + i, &slice[i]);
        }
        const block_q8_K* act[8];
        int c = 0;
        // Eight columns: eight independent vpdpbusd chains per loaded quad register.
        for (; c + 8 <= nc; c += 8) {
            for (int j = 0; j < 8; ++j) act[j] = cols[c + j] + b0;
            q2k_interleaved_dot_columns<8>(slice, n, act, tot + c);
        }
        // The rest in one pass: every pass reloads the slice (measured: 4 + 2 + 1 passes made
        // 7 columns slower than 8).
        const int rest = nc - c;
        for (int j = 0; j < rest; ++j) act[j] = cols[c + j] + b0;
        switch (rest) {
            case 7: q2k_interleaved_dot_columns<7>(slice, n, act, tot + c); break;
            case 6: q2k_interleaved_dot_columns<6>(slice, n, act, tot + c); break;
            case 5: q2k_interleaved_dot_columns<5>(slice, n, act, tot + c); break;
            case 4: q2k_interleaved_dot_columns<4>(slice, n, act, tot + c); break;
            case 3: q2k_interleaved_dot_columns<3>(slice, n, act, tot + c); break;
            case 2: q2k_interleaved_dot_columns<2>(slice, n, act, tot + c); break;
            case 1: q2k_interleaved_dot_columns<1>(slice, n, act, tot + c); break;
            default: break;
        }
    }
    for (int c = 0; c < nc; ++c) {
        alignas(64) float lanes[kQ2kGemmRows];
        _mm512_store_ps(lanes, tot[c]);
        float* out = t.out + (c0 + c) * t.out_stride + r0;
        for (int r = 0; r < kQ2kGemmRows; ++r) out[r] = lanes[r];
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
