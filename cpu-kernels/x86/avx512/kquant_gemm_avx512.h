// The batched ("gemm") driver of the AVX-512 K-quant tiles, used when a tile has enough rows and
// activation columns (prefill). kquant_tile_avx512.h unpacks each weight row once per group of
// four columns and needs two multiply ops per 64 MACs; here the tile's 16 weight rows are
// repacked once per slice of super-blocks into a row-interleaved form, where one zmm holds four
// consecutive unsigned digits of each of the 16 rows (lane r = row r). A single vpdpbusd with
// the activation's four bytes broadcast then does 64 MACs for 16 rows, and every repacked
// register is reused by all the tile's columns.
//
// Per scale group (16 or 32 elements) the int32 sums are converted once and scaled by the
// per-row float scale d·sc. Q4_K / Q5_K mins are `bias_pairs` (the int16 mins of two 32-element
// sub-blocks per lane) times the activation's sub-block sums, folded in once per super-block;
// Q6_K's offset of 32 is subtracted exactly in the integer sums.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "cpu-kernels/x86/avx512/gemm16_driver_avx512.h"
#include "cpu-kernels/kernel_table.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// Super-blocks repacked at a time: 2 × 5-6 KB stay in L1 while every column streams over them
// (1 to 8 measured; 2 is best for Q6_K, within noise of the others for Q4_K).
constexpr int kGemmSliceBlocks = 2;

// One super-block of 16 rows, row-interleaved. kScaleGroups: 8 (32-element scales) or 16.
template <int kScaleGroups>
struct InterleavedSuperBlock {
    __m512i quads[QK_K / 4];        // quads[q] lane r: unsigned digits 4q..4q+3 of row r
    __m512 scales[kScaleGroups];    // d·sc of each scale group, per row
    __m512i bias_pairs[QK_K / 64];  // lane r: int16 biases of 32-element sub-blocks 2p and 2p+1
    __m512 bias_scale;              // per row: the scale of Σ bias·bsum, which is subtracted
};

// out[t] lane r = 32-bit word t of the 16 bytes at `offset` in row r. Four rows share each
// 128-bit lane after the inserts; two unpack rounds finish the 4×4 transposes inside the lanes.
MOECPU_AVX512_INLINE void transpose_16x4_words(RowBlocks rows, size_t offset, __m512i out[4]) {
    const size_t four_rows = 4 * rows.stride;
    __m512i z[4];
    for (int j = 0; j < 4; ++j) {
        const uint8_t* p = rows.first + j * rows.stride + offset;
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + four_rows)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * four_rows)), 2);
        z[j] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 3 * four_rows)), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm512_unpacklo_epi64(t0, t2);
    out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3);
    out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// vpermw indices gathering the low 16 bits of every 32-bit lane into the low 256 bits.
alignas(64) constexpr uint16_t kEvenWords[32] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};

// The fp16 in the low (high = false) or high half of each 32-bit lane, as floats.
MOECPU_AVX512_INLINE __m512 halves_to_float(__m512i words, bool high) {
    const __m512i shifted = high ? _mm512_srli_epi32(words, 16) : words;
    const __m512i packed = _mm512_permutexvar_epi16(_mm512_load_si512(kEvenWords), shifted);
    return _mm512_cvtph_ps(_mm512_castsi512_si256(packed));
}

MOECPU_AVX512_INLINE __m512i broadcast_4_bytes(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// The dot loop and the repack stay out of line: compiled into one function, their register
// allocation interferes (spilled weight registers in the dot loop measured 20% slower for Q6_K).
#define MOECPU_AVX512_NOINLINE __attribute__((noinline))

// Adds the dots of `n_blocks` repacked super-blocks with NC activation columns to tot[c][row].
// act[c] points at column c's Q8_K block matching blocks[0]. kGroupOffset != 0 (Q6_K): digits
// are offset by it within 16-element groups sharing one scale, so the offset is subtracted
// exactly in the integer sums (starting them at -offset·bsum) instead of through bias_pairs.
template <int kScaleGroups, int kGroupOffset, int NC>
MOECPU_AVX512_NOINLINE void interleaved_dot_columns(const InterleavedSuperBlock<kScaleGroups>* blocks, int n_blocks,
                             const block_q8_K* const act[NC], float (*tot)[kGemmRows]) {
    constexpr int kQuadsPerGroup = QK_K / 4 / kScaleGroups;
    static_assert(kGroupOffset == 0 || kScaleGroups == QK_K / 16, "group offsets need one bsum per group");
    for (int i = 0; i < n_blocks; ++i) {
        const InterleavedSuperBlock<kScaleGroups>& sb = blocks[i];
        alignas(64) int32_t group_start[kGroupOffset != 0 ? NC : 1][QK_K / 16];
        if constexpr (kGroupOffset != 0) {
            for (int c = 0; c < NC; ++c)
                for (int half = 0; half < 2; ++half) {
                    const __m128i bsums = _mm_loadu_si128(reinterpret_cast<const __m128i*>(act[c][i].bsums + 8 * half));
                    const __m256i start = _mm256_mullo_epi32(_mm256_cvtepi16_epi32(bsums), _mm256_set1_epi32(-kGroupOffset));
                    _mm256_store_si256(reinterpret_cast<__m256i*>(group_start[c] + 8 * half), start);
                }
        }
        __m512 sum[NC];
        for (int c = 0; c < NC; ++c) sum[c] = _mm512_setzero_ps();
        for (int g = 0; g < kScaleGroups; ++g) {
            __m512i w[kQuadsPerGroup];
            for (int q = 0; q < kQuadsPerGroup; ++q) w[q] = _mm512_load_si512(&sb.quads[g * kQuadsPerGroup + q]);
            const __m512 scale = _mm512_load_ps(reinterpret_cast<const float*>(&sb.scales[g]));
            // One int32 chain per column, advanced column after column: NC independent
            // vpdpbusd side by side hide its latency (written chain after chain, the compiler
            // kept that order and the core waited on each chain).
            __m512i isum[NC];
            for (int c = 0; c < NC; ++c)
                isum[c] = kGroupOffset != 0 ? _mm512_set1_epi32(group_start[c][g]) : _mm512_setzero_si512();
            for (int q = 0; q < kQuadsPerGroup; ++q)
                for (int c = 0; c < NC; ++c)
                    isum[c] = _mm512_dpbusd_epi32(isum[c], w[q], broadcast_4_bytes(act[c][i].qs + 4 * (kQuadsPerGroup * g + q)));
            for (int c = 0; c < NC; ++c) sum[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), scale, sum[c]);
        }
        const __m512 bias_scale = _mm512_load_ps(reinterpret_cast<const float*>(&sb.bias_scale));
        for (int c = 0; c < NC; ++c) {
            __m512 s = sum[c];
            if constexpr (kGroupOffset == 0) {
                // Sub-block sums (pairs of bsums, |sum| <= 32·127 fits int16), packed per 128-bit
                // lane as [s0 s1 s2 s3 s0 s1 s2 s3 | s4 s5 s6 s7 s4 s5 s6 s7].
                alignas(32) int16_t sub_sums[16];
                const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act[c][i].bsums));
                const __m256i sums32 = _mm256_madd_epi16(bsums, _mm256_set1_epi16(1));
                _mm256_store_si256(reinterpret_cast<__m256i*>(sub_sums), _mm256_packs_epi32(sums32, sums32));
                __m512i bias = _mm512_dpwssd_epi32(_mm512_setzero_si512(), sb.bias_pairs[0], broadcast_4_bytes(sub_sums));
                bias = _mm512_dpwssd_epi32(bias, sb.bias_pairs[1], broadcast_4_bytes(sub_sums + 2));
                bias = _mm512_dpwssd_epi32(bias, sb.bias_pairs[2], broadcast_4_bytes(sub_sums + 8));
                bias = _mm512_dpwssd_epi32(bias, sb.bias_pairs[3], broadcast_4_bytes(sub_sums + 10));
                s = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(bias), bias_scale, s);
            }
            _mm512_store_ps(tot[c], _mm512_fmadd_ps(s, _mm512_set1_ps(act[c][i].d), _mm512_load_ps(tot[c])));
        }
    }
}

template <int kScaleGroups>
using InterleaveFn = void (*)(RowBlocks rows, int64_t b, InterleavedSuperBlock<kScaleGroups>* out);

template <int kScaleGroups, int kGroupOffset, int NC>
void dot_column_group(const TileArgs& t, const InterleavedSuperBlock<kScaleGroups>* blocks, int64_t b0, int n_blocks,
                      int c0, float (*tot)[kGemmRows]) {
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c)
        act[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes) + b0;
    interleaved_dot_columns<kScaleGroups, kGroupOffset, NC>(blocks, n_blocks, act, tot + c0);
}

template <int kScaleGroups, InterleaveFn<kScaleGroups> Interleave>
MOECPU_AVX512_NOINLINE void interleave_slice(RowBlocks rows, int64_t b0, int n, InterleavedSuperBlock<kScaleGroups>* out) {
    for (int i = 0; i < n; ++i) Interleave(rows, b0 + i, &out[i]);
}

// A K-quant format for the 16-row tile loop (gemm16_driver_avx512.h).
template <int kScaleGroups, int kGroupOffset, size_t kBytes, InterleaveFn<kScaleGroups> Interleave>
struct KQuantGemmFormat {
    using Block = InterleavedSuperBlock<kScaleGroups>;
    static constexpr int kSliceBlocks = kGemmSliceBlocks;
    static constexpr int kBlockElements = QK_K;
    static constexpr size_t kBlockBytes = kBytes;
    static void repack(RowBlocks rows, int64_t b0, int n, Block* out) {
        interleave_slice<kScaleGroups, Interleave>(rows, b0, n, out);
    }
    template <int NC>
    static void dot(const TileArgs& t, const Block* blocks, int64_t b0, int n, int c0, float (*tot)[kGemmRows]) {
        dot_column_group<kScaleGroups, kGroupOffset, NC>(t, blocks, b0, n, c0, tot);
    }
};

// Groups of 16 rows through the repacked path; returns the rows left for the row-by-row path.
template <int kScaleGroups, int kGroupOffset, size_t kBlockBytes, InterleaveFn<kScaleGroups> Interleave>
TileArgs kquant_gemm_rows(TileArgs t, int min_rows) {
    return gemm16_rows<KQuantGemmFormat<kScaleGroups, kGroupOffset, kBlockBytes, Interleave>>(t, min_rows);
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
