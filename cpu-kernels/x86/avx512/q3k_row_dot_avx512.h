// The AVX-512 Q3_K × Q8_K dot of weight rows with one to four activation columns (the decode
// path; whole groups of 16 rows with four or more columns go through q3k_gemm_avx512.h).
//
// A weight is d·s·(u − 4) with u = low2 + 4·hbit in 0..7 and s = b − 32, b the stored 6-bit
// scale. Within one 16-element sub-block the eight possible values of
//     w(u) = −s·(u − 4) + 128 = b·(4 − u) + 32·u
// lie in 0..252, so they fit an unsigned byte: a 16-byte vpshufb table per two sub-blocks turns
// digits into scaled weights, one vpshufb per 64 weights, and one vpdpbusd per 64 weights and
// column sums the super-block. Σ w·a overcounts −Σ s·(u − 4)·a by 128·Σ a, which the
// activation's bsums remove in one vpdpwssd; the sign is flipped once per row.
// Everything is decoded in vector registers and shared by the columns; the tables of the next
// super-block are built one iteration ahead so that their long dependency chain overlaps.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// Chunk c (64 weights; 128-bit lane L = sub-block 4c + L) looks up table c / 2, whose lane L
// holds sub-blocks 8h + L (chunk 2h) and 8h + 4 + L (chunk 2h + 1). The index bits follow where
// the digit bits already are: low2 in bits 0-1, then in lanes 0-1 the high bit in bit 2 and
// "odd chunk" in bit 3, in lanes 2-3 the other way round (hmask bit 2c + 1 sits one above 2c).
struct Q3kRowTables {
    __m512i table[2];
    __m512 d;  // d in every lane
};

struct Q3kRowWeights {
    __m512i scaled[4];  // u8 w(u) of 64 consecutive elements each
};

// vpternlog truth tables (bit a·4 + b·2 + c of the immediate is the result for bits a, b, c).
constexpr int kTernSelect = 0xE4;  // c ? a : b, bitwise
constexpr int kTernAndOr = 0xEA;   // (a & b) | c
constexpr int kTernOrAnd = 0xF8;   // a | (b & c)

struct Q3kRowConstants {
    // Scale b of sub-block g: low 4 bits from byte g % 8 (low nibble for g < 8), high 2 bits from
    // byte 8 + g % 4, bit pair g / 4. In every lane, one shuffle of the 16 bytes ending with the
    // scales gathers bytes g % 8 and a dword shift brings the nibble to bits 0-3; another gathers
    // bytes 8 + g % 4 and a dword rotation brings the pair to bits 4-5 (rotating, so no bit leaves
    // its byte). Lane-local on purpose: cross-lane shuffles measured slower.
    alignas(64) uint8_t nibble_gather[64];
    alignas(64) uint32_t nibble_shift[16];
    alignas(64) uint8_t pair_gather[64];
    alignas(64) uint32_t pair_rotate[16];
    // Table dword: b of its sub-block in the low byte, then ×multiplier + offset gives w(u) for
    // four consecutive u. No byte carries or borrows (each byte of b × multiplier stays within its
    // offset byte and all results within 0..252), so the dword arithmetic is exact per byte:
    //   u 0..3: b·[4, 3, 2, 1] + [0, 32, 64, 96];  u 4..7: [128, 160, 192, 224] − b·[0, 1, 2, 3].
    alignas(64) uint8_t table_spread[2][64];
    alignas(64) uint32_t table_multiplier[16];
    alignas(64) uint32_t table_offset[16];
    // qs bytes: [as loaded | >> 2 per 16-bit word], so both halves hold their run in bits 0-1 (and
    // the odd chunk's run in bits 4-5).
    alignas(64) uint16_t run_shift[32];
    // Index bits of the high bit and of "odd chunk" (see Q3kRowTables).
    alignas(64) uint8_t high_bit[64];
    alignas(64) uint8_t odd_chunk[64];
    alignas(64) uint8_t low_bits[64];
};
constexpr Q3kRowConstants make_q3k_row_constants() {
    Q3kRowConstants k{};
    constexpr int kScalesAt = 4;  // the 16 loaded bytes end with the 12 scale bytes
    for (int i = 0; i < 64; ++i) {
        const int g = i % 16;
        k.nibble_gather[i] = static_cast<uint8_t>(kScalesAt + g % 8);
        k.pair_gather[i] = static_cast<uint8_t>(kScalesAt + 8 + g % 4);
    }
    for (int i = 0; i < 16; ++i) {
        const int dword = i % 4;  // sub-blocks 4·dword .. +3 of the lane
        k.nibble_shift[i] = dword < 2 ? 0 : 4;
        k.pair_rotate[i] = static_cast<uint32_t>((4 - 2 * dword) & 31);
    }
    // Table byte 4j + i of a lane (dword j) is index 4j + i: i is low2; j's two bits are the high
    // bit and "odd chunk", in the lane's order.
    for (int i = 0; i < 16; ++i) {
        const int lane = i / 4, j = i % 4;
        const bool first_lanes = lane < 2;
        const bool high = first_lanes ? j % 2 == 1 : j / 2 == 1;
        const bool odd = first_lanes ? j / 2 == 1 : j % 2 == 1;
        for (int h = 0; h < 2; ++h)
            for (int byte = 0; byte < 4; ++byte)
                k.table_spread[h][4 * i + byte] =
                    byte == 0 ? static_cast<uint8_t>(8 * h + 4 * odd + lane) : uint8_t{0x80};  // 0x80: zero
        k.table_multiplier[i] = high ? 0u - 0x03020100u : 0x01020304u;
        k.table_offset[i] = high ? 0xE0C0A080u : 0x60402000u;
    }
    for (int word = 0; word < 32; ++word) k.run_shift[word] = word < 16 ? 0 : 2;
    for (int i = 0; i < 64; ++i) {
        k.high_bit[i] = i < 32 ? 0x04 : 0x08;
        k.odd_chunk[i] = i < 32 ? 0x08 : 0x04;
        k.low_bits[i] = 0x03;
    }
    return k;
}
alignas(64) constexpr Q3kRowConstants kQ3kRow = make_q3k_row_constants();

MOECPU_AVX512_INLINE void q3k_row_tables(const block_q3_K& x, Q3kRowTables* out) {
    // The 16 bytes ending with the 12 scale bytes (the block's own qs before them).
    static_assert(offsetof(block_q3_K, scales) >= 4);
    const uint8_t* scales16 = reinterpret_cast<const uint8_t*>(&x) + offsetof(block_q3_K, scales) - 4;
    const __m512i packed = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales16)));
    const __m512i nibbles = _mm512_srlv_epi32(_mm512_shuffle_epi8(packed, _mm512_load_si512(kQ3kRow.nibble_gather)),
                                              _mm512_load_si512(kQ3kRow.nibble_shift));
    const __m512i pairs = _mm512_rolv_epi32(_mm512_shuffle_epi8(packed, _mm512_load_si512(kQ3kRow.pair_gather)),
                                            _mm512_load_si512(kQ3kRow.pair_rotate));
    // Bits 0-3 from the nibble, 4-5 from the pair, 6-7 cleared: b of each sub-block, every lane.
    const __m512i biased = _mm512_and_si512(_mm512_ternarylogic_epi32(nibbles, pairs, _mm512_set1_epi8(0x0F), kTernSelect),
                                            _mm512_set1_epi8(0x3F));
    for (int h = 0; h < 2; ++h) {
        const __m512i spread = _mm512_shuffle_epi8(biased, _mm512_load_si512(kQ3kRow.table_spread[h]));
        out->table[h] = _mm512_add_epi32(_mm512_mullo_epi32(spread, _mm512_load_si512(kQ3kRow.table_multiplier)),
                                         _mm512_load_si512(kQ3kRow.table_offset));
    }
    out->d = _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(x.d)));
}

// Table index of chunk `chunk` from its low bits (in bits 0-1, garbage above) and the raw hmask,
// bit 7 clear. Its high bits, hmask bits 2c and 2c + 1, move to bits 2 and 3 with one 16-bit
// shift (by the same amount in both halves, so no bit crosses a byte).
MOECPU_AVX512_INLINE __m512i q3k_row_index(__m512i low, __m512i hmask, int chunk) {
    const __m512i moved = chunk == 0 ? _mm512_slli_epi16(hmask, 2)
                          : chunk == 1 ? hmask
                                       : _mm512_srli_epi16(hmask, 2 * chunk - 2);
    const __m512i odd = chunk % 2 ? _mm512_load_si512(kQ3kRow.odd_chunk) : _mm512_setzero_si512();
    const __m512i high = _mm512_ternarylogic_epi32(moved, _mm512_load_si512(kQ3kRow.high_bit), odd, kTernAndOr);
    return _mm512_ternarylogic_epi32(high, low, _mm512_load_si512(kQ3kRow.low_bits), kTernOrAnd);
}

// Chunk c is half c / 2; its first 32 elements are run 2·(c % 2) of the half's 32 qs bytes, the
// last 32 run 2·(c % 2) + 1; their high bits are hmask bits 2c and 2c + 1.
MOECPU_AVX512_INLINE void q3k_row_weights(const block_q3_K& x, const Q3kRowTables& t, Q3kRowWeights* out) {
    const __m512i hmask = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.hmask)));
    const __m512i run_shift = _mm512_load_si512(kQ3kRow.run_shift);
    for (int h = 0; h < 2; ++h) {
        const __m512i qs = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + 32 * h)));
        const __m512i runs = _mm512_srlv_epi16(qs, run_shift);
        out->scaled[2 * h] = _mm512_shuffle_epi8(t.table[h], q3k_row_index(runs, hmask, 2 * h));
        out->scaled[2 * h + 1] = _mm512_shuffle_epi8(t.table[h], q3k_row_index(_mm512_srli_epi16(runs, 4), hmask, 2 * h + 1));
    }
}

// acc −= d·da·Σ s·(u − 4)·a, as 16 float lanes to be summed and negated.
MOECPU_AVX512_INLINE __m512 q3k_row_block_dot(const Q3kRowWeights& w, __m512 d, const block_q8_K& a, __m512 acc) {
    const __m512i bsums = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
    __m512i isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bsums, _mm512_set1_epi16(-128));
    for (int chunk = 0; chunk < 4; ++chunk)
        isum = _mm512_dpbusd_epi32(isum, w.scaled[chunk], _mm512_loadu_si512(a.qs + 64 * chunk));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, _mm512_set1_ps(a.d)), acc);
}

// Weights are read once, front to back (as q2k_scaled_digits_avx512.h, which measured 8 KB).
constexpr uintptr_t kQ3kRowPrefetchBytes = 8192;

// Prefetch points half a block apart touch every line of the stream. Integer arithmetic: the
// address may lie past the weights, which a prefetch never faults on.
MOECPU_AVX512_INLINE void q3k_row_prefetch_ahead(const block_q3_K* block) {
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(block) + kQ3kRowPrefetchBytes;
    _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ahead + sizeof(block_q3_K) / 2), _MM_HINT_T0);
}

// The per-row driver: each row's super-block is decoded once and dotted with NC columns.
template <int NC>
void q3k_row_x_q8_K(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK_K;
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    for (int r = 0; r < t.nr; ++r) {
        const auto* row = reinterpret_cast<const block_q3_K*>(t.w + r * t.w_row_bytes);
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        Q3kRowTables tables;
        q3k_row_tables(row[0], &tables);
        for (int64_t b = 0; b < nb; ++b) {
            q3k_row_prefetch_ahead(row + b);
            Q3kRowTables next;  // of the next block; the last block rebuilds its own, unused
            q3k_row_tables(row[b + 1 < nb ? b + 1 : b], &next);
            Q3kRowWeights w;
            q3k_row_weights(row[b], tables, &w);
            for (int c = 0; c < NC; ++c) acc[c] = q3k_row_block_dot(w, tables.d, act[c][b], acc[c]);
            tables = next;
        }
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r] = -sum_lanes(acc[c]);
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
