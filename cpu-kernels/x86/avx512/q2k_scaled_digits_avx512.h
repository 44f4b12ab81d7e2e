// The AVX-512 Q2_K × Q8_K dot through scaled digits. A Q2_K digit u is 0..3 and a sub-block
// scale s is 0..15, so s·u <= 45 is an unsigned byte: one vpshufb per 64 weights, with the
// sixteen [0, s, 2s, 3s] tables of a super-block in one register, turns digits into scaled
// digits, and one vpdpbusd per 64 weights and column sums the whole super-block into a single
// int32 accumulator. The mins meet the activation's bsums (both per 16 elements) in one vpmaddwd.
// The scaled digits are built once per row and super-block and shared by all columns.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

struct Q2kScaledBlock {
    __m512i scaled[4];  // u8 s·u of 64 consecutive elements each
    __m256i mins16;     // int16 min of each 16-element sub-block
    __m512 d;           // d in every lane
    __m512 dmin;        // dmin in every lane
};

// Lane i (16 elements) of chunk c is sub-block 4c + i. The table register holds sixteen
// 4-entry tables, four per lane, so a lookup index carries the digit u and the chunk c:
//  - lanes 0, 1 (digits from bit pair 0-1 of a byte): index 4c + u, i.e. dword c = s·0x03020100;
//  - lanes 2, 3 (digits from bit pair 2-3, used in place): index 4u + c, i.e. dword u = u·S
//    where byte c of S is the scale of sub-block 4c + i.
// So a chunk's indices are one vpternlog (x & mask) | offset and need no shift for bits 2-3.
struct Q2kConstants {
    alignas(64) uint8_t scale_gather[64];  // vpshufb: the 16 scale bytes → their table dwords
    alignas(64) uint32_t multiplier[16];   // table dwords = gathered scales × this
    alignas(64) uint8_t digit_mask[64];    // [0x03 ×32 | 0x0C ×32]
    alignas(64) uint8_t chunk_offset[4][64];  // [4c ×32 | c ×32]
};
constexpr Q2kConstants make_q2k_constants() {
    Q2kConstants k{};
    for (int lane = 0; lane < 4; ++lane)
        for (int dword = 0; dword < 4; ++dword)
            for (int byte = 0; byte < 4; ++byte) {
                uint8_t from = uint8_t{0x80};  // vpshufb writes zero
                if (lane >= 2) from = static_cast<uint8_t>(4 * byte + lane);
                else if (byte == 0) from = static_cast<uint8_t>(4 * dword + lane);
                k.scale_gather[16 * lane + 4 * dword + byte] = from;
                k.multiplier[4 * lane + dword] = lane >= 2 ? static_cast<uint32_t>(dword) : 0x03020100u;
            }
    for (int i = 0; i < 64; ++i) {
        k.digit_mask[i] = i < 32 ? 0x03 : 0x0C;
        for (int chunk = 0; chunk < 4; ++chunk) k.chunk_offset[chunk][i] = static_cast<uint8_t>(i < 32 ? 4 * chunk : chunk);
    }
    return k;
}
alignas(64) constexpr Q2kConstants kQ2k = make_q2k_constants();

// One 128-element half: 32 bytes hold four 32-element runs in bit pairs 0-1, 2-3, 4-5, 6-7, so
// chunk `first` (runs 0, 1) reads the bytes as they are and chunk `first + 1` (runs 2, 3) reads
// them shifted right by 4. vpshufb ignores index bits 4-6 but zeroes on bit 7: mask, then offset.
MOECPU_AVX512_INLINE void q2k_indices_of_half(const uint8_t* qs32, int first, __m512i* low_runs, __m512i* high_runs) {
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs32)));
    const __m512i mask = _mm512_load_si512(kQ2k.digit_mask);
    constexpr int kAndOr = 0xEA;  // vpternlog truth table of (a & b) | c
    *low_runs = _mm512_ternarylogic_epi32(both, mask, _mm512_load_si512(kQ2k.chunk_offset[first]), kAndOr);
    *high_runs = _mm512_ternarylogic_epi32(_mm512_srli_epi16(both, 4), mask,
                                           _mm512_load_si512(kQ2k.chunk_offset[first + 1]), kAndOr);
}

MOECPU_AVX512_INLINE void q2k_scaled_block(const block_q2_K& x, Q2kScaledBlock* out) {
    const __m512i scales = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
    const __m512i gathered = _mm512_and_si512(_mm512_shuffle_epi8(scales, _mm512_load_si512(kQ2k.scale_gather)),
                                              _mm512_set1_epi8(0x0F));
    const __m512i tables = _mm512_mullo_epi32(gathered, _mm512_load_si512(kQ2k.multiplier));
    __m512i index[4];
    q2k_indices_of_half(x.qs, 0, &index[0], &index[1]);
    q2k_indices_of_half(x.qs + 32, 2, &index[2], &index[3]);
    for (int chunk = 0; chunk < 4; ++chunk) out->scaled[chunk] = _mm512_shuffle_epi8(tables, index[chunk]);

    // Zero-extended scale bytes shifted right by 4 are the mins.
    out->mins16 = _mm256_srli_epi16(_mm256_cvtepu8_epi16(_mm512_castsi512_si128(scales)), 4);
    // d and dmin are adjacent: one conversion, then one broadcast each.
    static_assert(offsetof(block_q2_K, dmin) == offsetof(block_q2_K, d) + 2);
    uint32_t d_dmin;
    std::memcpy(&d_dmin, &x.d, sizeof d_dmin);
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(d_dmin)));
    out->d = _mm512_broadcastss_ps(both);
    out->dmin = _mm512_broadcastss_ps(_mm_movehdup_ps(both));
}

// acc += da·(d·Σ s·u·a − dmin·Σ m·bsum), as 16 float lanes to be summed.
MOECPU_AVX512_INLINE __m512 q2k_block_dot(const Q2kScaledBlock& w, const block_q8_K& a, __m512 acc) {
    __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.scaled[0], _mm512_loadu_si512(a.qs));
    isum = _mm512_dpbusd_epi32(isum, w.scaled[1], _mm512_loadu_si512(a.qs + 64));
    isum = _mm512_dpbusd_epi32(isum, w.scaled[2], _mm512_loadu_si512(a.qs + 128));
    isum = _mm512_dpbusd_epi32(isum, w.scaled[3], _mm512_loadu_si512(a.qs + 192));
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), w.mins16);
    __m512 sum = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), w.d);
    sum = _mm512_fnmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(msum)), w.dmin, sum);
    return _mm512_fmadd_ps(sum, _mm512_set1_ps(a.d), acc);
}

// Weights are read once, front to back: prefetching this far ahead lets matvec stream near the
// memory bandwidth (measured at ~60 GB/s, 2 threads: 8 KB beat 0, 1, 4 and 16 KB by up to 15 %).
constexpr uintptr_t kQ2kPrefetchBytes = 8192;

// Two cache lines cover one 84-byte block wherever it starts. Integer arithmetic: the address
// may lie past the weights, which a prefetch never faults on.
MOECPU_AVX512_INLINE void q2k_prefetch_ahead(const block_q2_K* block) {
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(block) + kQ2kPrefetchBytes;
    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ahead + 63), _MM_HINT_T0);
}

// The per-row driver: each row's super-block is scaled once and dotted with NC columns.
template <int NC>
void q2k_x_q8_K(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK_K;
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    for (int r = 0; r < t.nr; ++r) {
        const auto* row = reinterpret_cast<const block_q2_K*>(t.w + r * t.w_row_bytes);
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            q2k_prefetch_ahead(row + b);
            Q2kScaledBlock w;
            q2k_scaled_block(row[b], &w);
            for (int c = 0; c < NC; ++c) acc[c] = q2k_block_dot(w, act[c][b], acc[c]);
        }
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r] = sum_lanes(acc[c]);
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
