// The AVX-512 Q4_K × Q8_K dot of small batches (decode's matvec, up to four columns), row by row.
// Matvec streams every weight once, so its speed is the instruction count per 256-element
// super-block: at ~5 instructions per cycle the general K-quant unpacker (scalar scale decoding,
// GPR → vector inserts; ~90 instructions) could not keep up with memory on two cores. Here the
// packed 6-bit scales and mins are decoded in one xmm register (six instructions) and spread
// with vpshufb; 128 digits cost one load, one shift and two ANDs, because the activation is
// staged once per tile in the order the nibbles come in; d·Σ and dmin·Σ share one conversion
// and one FMA per column. ~45 instructions per super-block (measured single-threaded, weights
// in L2: 4.36 ns per super-block before, 2.93 ns after).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// Block head h (16 bytes): d, dmin (fp16), then the 12 packed bytes p[0..11] = h[4..15].
// Scales / mins 0-3 are the low 6 bits of p[0..3] / p[4..7]; scales / mins 4-7 take their low
// 4 bits from the low / high nibbles of p[8..11] and their top 2 bits from the top 2 bits of
// p[0..3] / p[4..7] (ggml's get_scale_min_k4).
struct Q4kRowConstants {
    alignas(16) uint8_t fields[16];        // vpshufb h → [p0-3 | p8-11 | p4-7 | p8-11]
    alignas(16) uint8_t top_bits[16];      // vpshufb → [0 | top(p0-3) | 0 | top(p4-7)]
    alignas(16) uint8_t field_mask[16];    // [63 ×4 | 15 ×4 | 63 ×4 | 15 ×4]
    alignas(16) uint32_t field_shift[4];   // the high nibbles of p8-11 for mins 4-7
    alignas(64) uint8_t scale_spread[4][64];  // vpshufb per chunk c: int16 sc[2c] ×16, sc[2c+1] ×16
    alignas(32) uint8_t min_spread[32];       // vpshufb: int16 [m0 m0 m1 m1 … m7 m7] (one per bsum)
    alignas(64) uint32_t d_spread[16];        // vpermps: [d ×8 | dmin ×8]
};
constexpr Q4kRowConstants make_q4k_row_constants() {
    Q4kRowConstants k{};
    const uint8_t zero = 0x80;  // vpshufb writes zero
    for (int j = 0; j < 4; ++j) {
        k.fields[j] = static_cast<uint8_t>(4 + j);
        k.fields[4 + j] = static_cast<uint8_t>(12 + j);
        k.fields[8 + j] = static_cast<uint8_t>(8 + j);
        k.fields[12 + j] = static_cast<uint8_t>(12 + j);
        k.top_bits[j] = zero;
        k.top_bits[4 + j] = static_cast<uint8_t>(4 + j);
        k.top_bits[8 + j] = zero;
        k.top_bits[12 + j] = static_cast<uint8_t>(8 + j);
        k.field_mask[j] = k.field_mask[8 + j] = 63;
        k.field_mask[4 + j] = k.field_mask[12 + j] = 15;
    }
    k.field_shift[3] = 4;
    for (int c = 0; c < 4; ++c)
        for (int i = 0; i < 64; ++i)  // chunk 2h + j: lanes 0-1 sub-block 4h + j, lanes 2-3 4h + 2 + j
            k.scale_spread[c][i] = i % 2 ? zero : static_cast<uint8_t>(4 * (c / 2) + c % 2 + 2 * (i / 32));
    for (int i = 0; i < 32; ++i) k.min_spread[i] = i % 2 ? zero : static_cast<uint8_t>(8 + i / 4);
    for (int i = 0; i < 16; ++i) k.d_spread[i] = static_cast<uint32_t>(i / 8);
    return k;
}
alignas(64) constexpr Q4kRowConstants kQ4kRow = make_q4k_row_constants();

struct Q4kRowBlock {
    __m512i digits[4];  // u8 digits of 64 consecutive elements each
    __m512i scales[4];  // int16 scale of each element pair of the matching digits
    __m256i mins16;     // int16 min per 16 elements, to meet the activation's bsums
    __m512 d_dmin;      // [d ×8 | dmin ×8]
};

MOECPU_AVX512_INLINE void q4k_row_block(const block_q4_K& x, Q4kRowBlock* out) {
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&x));
    const __m128i fields = _mm_srlv_epi32(_mm_shuffle_epi8(head, _mm_load_si128(reinterpret_cast<const __m128i*>(kQ4kRow.fields))),
                                          _mm_load_si128(reinterpret_cast<const __m128i*>(kQ4kRow.field_shift)));
    const __m128i tops = _mm_and_si128(_mm_srli_epi16(head, 2), _mm_set1_epi8(0x30));  // bits 6-7 → 4-5
    const __m128i top_bits = _mm_shuffle_epi8(tops, _mm_load_si128(reinterpret_cast<const __m128i*>(kQ4kRow.top_bits)));
    constexpr int kAndOr = 0xEA;  // vpternlog truth table of (a & b) | c
    // Bytes 0-7 the scales, 8-15 the mins.
    const __m128i six_bit = _mm_ternarylogic_epi32(fields, _mm_load_si128(reinterpret_cast<const __m128i*>(kQ4kRow.field_mask)),
                                                   top_bits, kAndOr);
    const __m512i all_lanes = _mm512_broadcast_i32x4(six_bit);
    for (int c = 0; c < 4; ++c) out->scales[c] = _mm512_shuffle_epi8(all_lanes, _mm512_load_si512(kQ4kRow.scale_spread[c]));
    out->mins16 = _mm256_shuffle_epi8(_mm512_castsi512_si256(all_lanes), _mm256_load_si256(reinterpret_cast<const __m256i*>(kQ4kRow.min_spread)));

    // Half h: 64 bytes; their low nibbles are sub-blocks 4h and 4h + 2, the high ones 4h + 1 and
    // 4h + 3, matching the reordered activation (reorder_q8_K_for_q4_K).
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int h = 0; h < 2; ++h) {
        const __m512i q = _mm512_loadu_si512(x.qs + 64 * h);
        out->digits[2 * h] = _mm512_and_si512(q, low4);
        out->digits[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
    }
    out->d_dmin = _mm512_permutexvar_ps(_mm512_load_si512(kQ4kRow.d_spread), _mm512_castps128_ps512(_mm_cvtph_ps(head)));
}

// acc lanes 0-7 += a.d·d·Σ sc·u·a, lanes 8-15 += a.d·dmin·Σ m·bsum (subtracted at the end).
MOECPU_AVX512_INLINE __m512 q4k_row_block_dot(const Q4kRowBlock& w, const block_q8_K& a, const int8_t* qs, __m512 acc) {
    // Two partial sums halve the dependency chain of the vpdpwssd accumulations.
    __m512i even = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w.digits[0], _mm512_load_si512(qs)), w.scales[0]);
    __m512i odd = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w.digits[1], _mm512_load_si512(qs + 64)), w.scales[1]);
    even = _mm512_dpwssd_epi32(even, _mm512_maddubs_epi16(w.digits[2], _mm512_load_si512(qs + 128)), w.scales[2]);
    odd = _mm512_dpwssd_epi32(odd, _mm512_maddubs_epi16(w.digits[3], _mm512_load_si512(qs + 192)), w.scales[3]);
    const __m512i isum = _mm512_add_epi32(even, odd);
    const __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), w.mins16);
    const __m512 both = _mm512_cvtepi32_ps(_mm512_inserti64x4(_mm512_castsi256_si512(sum8), msum, 1));
    return _mm512_fmadd_ps(_mm512_mul_ps(both, w.d_dmin), _mm512_set1_ps(a.d), acc);
}

MOECPU_AVX512_INLINE float q4k_row_result(__m512 acc) {
    const __m256 lanes_8_15 = _mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(acc), 1));
    return _mm512_reduce_add_ps(_mm512_zextps256_ps512(_mm256_sub_ps(_mm512_castps512_ps256(acc), lanes_8_15)));
}

// Weights are read once, front to back: prefetching this far ahead lets the matvec stream near
// the memory bandwidth (as for Q2_K). Three prefetches 48 bytes apart per 144-byte block touch
// every cache line of the stream.
constexpr uintptr_t kQ4kPrefetchBytes = 8192;

MOECPU_AVX512_INLINE void q4k_prefetch_ahead(const block_q4_K* block) {
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(block) + kQ4kPrefetchBytes;
    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ahead + 48), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ahead + 96), _MM_HINT_T0);
}

// Activation super-blocks reordered at a time (NC × 32 KB on the stack). A segment must hold
// whole rows of the common shapes (attn_output k = 16384, dense ffn_down 18432): with shorter
// segments each row is read in several passes and the 8 KB prefetch lands in the part read on
// the next pass (measured 38 instead of 58 GB/s at k = 16384). Longer rows are still processed
// in segments whose partial sums add up in `out`.
constexpr int64_t kQ4kSegmentBlocks = 128;

// Per 128 elements, the 32-byte quarters [0 1 2 3] → [0 2 1 3]: one 64-byte load of Q4_K digits
// then meets its activation without any shuffle of the weights.
MOECPU_AVX512_INLINE void reorder_q8_K_for_q4_K(const block_q8_K* a, int64_t n, int8_t (*out)[QK_K]) {
    for (int64_t b = 0; b < n; ++b)
        for (int h = 0; h < 2; ++h) {
            const __m512i first = _mm512_loadu_si512(a[b].qs + 128 * h), second = _mm512_loadu_si512(a[b].qs + 128 * h + 64);
            _mm512_store_si512(out[b] + 128 * h, _mm512_shuffle_i64x2(first, second, _MM_SHUFFLE(1, 0, 1, 0)));
            _mm512_store_si512(out[b] + 128 * h + 64, _mm512_shuffle_i64x2(first, second, _MM_SHUFFLE(3, 2, 3, 2)));
        }
}

// Each row's super-block is unpacked once and dotted with NC columns.
template <int NC>
void q4k_row_x_q8_K(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK_K;
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    alignas(64) int8_t reordered[NC][kQ4kSegmentBlocks][QK_K];
    for (int64_t b0 = 0; b0 < nb; b0 += kQ4kSegmentBlocks) {
        const int64_t n = nb - b0 < kQ4kSegmentBlocks ? nb - b0 : kQ4kSegmentBlocks;
        for (int c = 0; c < NC; ++c) reorder_q8_K_for_q4_K(act[c] + b0, n, reordered[c]);
        for (int r = 0; r < t.nr; ++r) {
            const auto* row = reinterpret_cast<const block_q4_K*>(t.w + r * t.w_row_bytes) + b0;
            __m512 acc[NC];
            for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
            for (int64_t b = 0; b < n; ++b) {
                q4k_prefetch_ahead(row + b);
                Q4kRowBlock w;
                q4k_row_block(row[b], &w);
                for (int c = 0; c < NC; ++c) acc[c] = q4k_row_block_dot(w, act[c][b0 + b], reordered[c][b], acc[c]);
            }
            for (int c = 0; c < NC; ++c) {
                float& y = t.out[(c0 + c) * t.out_stride + r];
                y = (b0 == 0 ? 0.0f : y) + q4k_row_result(acc[c]);
            }
        }
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
