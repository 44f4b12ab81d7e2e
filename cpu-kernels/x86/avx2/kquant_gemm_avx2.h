// The batched ("gemm") path of the AVX2 K-quant tiles, used when a tile has 8 or more weight rows
// and several activation columns (prefill). The row-by-row tiles need one vpmaddwd per
// vpmaddubsw (the scale of each 16- or 32-element group is applied to every product), so they
// top out at half the multiply rate. Here 8 weight rows are repacked once per super-block into a
// row-interleaved form (one ymm holds 4 consecutive unsigned digits of each of the 8 rows, lane
// r = row r): one vpmaddubsw against the activation's 4 bytes broadcast does 32 MACs for 8 rows,
// and the int16 results of a whole scale group are added up before ONE vpmaddwd applies the 8
// rows' scales. Digits are unsigned (at most 63) and Q8_K activations lie in [-127, 127], so a
// pair of products is at most 2·63·127; kPairsPerMadd bounds the int16 sums below 32767.
//
// Every format writes a super-block of one row as its 256 unsigned digits u, the per-group
// int16 scales s_g and offsets m_g, and two floats d, dm, such that element i of group g is
//     x_i = d·s_g·u_i − dm·m_g,
// so dot(x, a) = da·(d·Σ_g s_g·Σ u·a − dm·Σ_g m_g·bsum_g), bsum_g from the activation block.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu-kernels/kernel_table.h"
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {  // each AVX2 file its own copy: none can stand in for baseline code

constexpr int kGemmRows = 8;  // one weight row per 32-bit lane
// Columns dotted together: each loaded weight register serves them all; six int16 and six
// int32 chains plus the weights fit the 16 ymm registers (Q4_K n=64: 2 columns 139, 4: 172,
// 6: 195 GFLOP/s, one Zen 3 thread). Leftovers go in groups of 4 (6 + 2 was slower than 4 + 4).
constexpr int kGemmColumns = 6;
constexpr int kGemmColumnsShort = 4;
// Columns per group when two groups of 8 rows are dotted together (12 int16/int32 chains).
constexpr int kGemmColumnsPaired = 3;
// Fewest activation columns for which the repack pays (the row-by-row tile below that).
constexpr int kGemmMinColumns = 4;

// One row's super-block as the formats decode it. Every field is written with vector stores
// (the repack reads them back as vectors: narrow stores under a wide load stall the forwarding).
struct DecodedRow {
    alignas(32) uint8_t digits[QK_K];
    alignas(32) int16_t scales[16];   // s_g (groups past kGroups: anything)
    alignas(32) int16_t offsets[16];  // m_g
    float d, dm;
};

// One super-block of 8 rows, row-interleaved.
template <int kGroups>
struct Interleaved8 {
    __m256i quads[QK_K / 4];           // quads[q] lane r: digits 4q..4q+3 of row r
    __m256i scales[kGroups];           // lane r: s_g of row r in both int16 halves
    __m256i offset_pairs[kGroups / 2]; // lane r: int16 m_{2p}, m_{2p+1} of row r
    __m256 d, dm;
};

// Stores 16 int16 (scales or offsets) of a decoded row; `lo` and `hi` are groups 0-7 and 8-15.
static inline void store_groups(int16_t (&dst)[16], __m128i lo, __m128i hi) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst), _mm256_set_m128i(hi, lo));
}

// 8×8 transpose of 32-bit words: in[r] word j → out[j] word r.
static inline void transpose8x8_words(const __m256i in[8], __m256i out[8]) {
    const __m256i a0 = _mm256_unpacklo_epi32(in[0], in[1]), a1 = _mm256_unpackhi_epi32(in[0], in[1]);
    const __m256i a2 = _mm256_unpacklo_epi32(in[2], in[3]), a3 = _mm256_unpackhi_epi32(in[2], in[3]);
    const __m256i a4 = _mm256_unpacklo_epi32(in[4], in[5]), a5 = _mm256_unpackhi_epi32(in[4], in[5]);
    const __m256i a6 = _mm256_unpacklo_epi32(in[6], in[7]), a7 = _mm256_unpackhi_epi32(in[6], in[7]);
    const __m256i b0 = _mm256_unpacklo_epi64(a0, a2), b1 = _mm256_unpackhi_epi64(a0, a2);
    const __m256i b2 = _mm256_unpacklo_epi64(a1, a3), b3 = _mm256_unpackhi_epi64(a1, a3);
    const __m256i b4 = _mm256_unpacklo_epi64(a4, a6), b5 = _mm256_unpackhi_epi64(a4, a6);
    const __m256i b6 = _mm256_unpacklo_epi64(a5, a7), b7 = _mm256_unpackhi_epi64(a5, a7);
    out[0] = _mm256_permute2x128_si256(b0, b4, 0x20);
    out[1] = _mm256_permute2x128_si256(b1, b5, 0x20);
    out[2] = _mm256_permute2x128_si256(b2, b6, 0x20);
    out[3] = _mm256_permute2x128_si256(b3, b7, 0x20);
    out[4] = _mm256_permute2x128_si256(b0, b4, 0x31);
    out[5] = _mm256_permute2x128_si256(b1, b5, 0x31);
    out[6] = _mm256_permute2x128_si256(b2, b6, 0x31);
    out[7] = _mm256_permute2x128_si256(b3, b7, 0x31);
}

// Shuffle controls repeating the low (even groups) or high (odd groups) int16 of every dword.
alignas(32) constexpr uint8_t kRepeatLowWord[32] = {0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,
                                                    0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13};
alignas(32) constexpr uint8_t kRepeatHighWord[32] = {2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15,
                                                     2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15};

template <int kGroups>
static inline void interleave8(const DecodedRow (&rows)[kGemmRows], Interleaved8<kGroups>* out) {
    __m256i in[8];
    for (int chunk = 0; chunk < QK_K / 32; ++chunk) {
        for (int r = 0; r < kGemmRows; ++r) in[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rows[r].digits + 32 * chunk));
        transpose8x8_words(in, out->quads + 8 * chunk);
    }
    // Scales and offsets: word p of a row holds groups 2p and 2p+1, so one transpose gives the
    // offset pairs directly and the scales after repeating each half.
    __m256i pairs[8];
    for (int r = 0; r < kGemmRows; ++r) in[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rows[r].scales));
    transpose8x8_words(in, pairs);
    const __m256i low = _mm256_load_si256(reinterpret_cast<const __m256i*>(kRepeatLowWord));
    const __m256i high = _mm256_load_si256(reinterpret_cast<const __m256i*>(kRepeatHighWord));
    for (int p = 0; p < kGroups / 2; ++p) {
        out->scales[2 * p] = _mm256_shuffle_epi8(pairs[p], low);
        out->scales[2 * p + 1] = _mm256_shuffle_epi8(pairs[p], high);
    }
    for (int r = 0; r < kGemmRows; ++r) in[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rows[r].offsets));
    transpose8x8_words(in, pairs);
    for (int p = 0; p < kGroups / 2; ++p) out->offset_pairs[p] = pairs[p];
    out->d = _mm256_setr_ps(rows[0].d, rows[1].d, rows[2].d, rows[3].d, rows[4].d, rows[5].d, rows[6].d, rows[7].d);
    out->dm = _mm256_setr_ps(rows[0].dm, rows[1].dm, rows[2].dm, rows[3].dm, rows[4].dm, rows[5].dm, rows[6].dm, rows[7].dm);
}

static inline __m256i broadcast_4_bytes(const void* p) { return _mm256_set1_epi32(static_cast<int>(load_u32(p))); }

// The group sums bsum_g of an activation block as int16 pairs (bsum_{2p}, bsum_{2p+1}) in
// pairs[p]: 16-element groups are the block's bsums, 32-element groups the sums of two.
template <int kGroups>
static inline void group_sum_pairs(const block_q8_K& act, int16_t (&sums)[16]) {
    if constexpr (kGroups == QK_K / 16) {
        std::memcpy(sums, act.bsums, sizeof(sums));
    } else {
        static_assert(kGroups == QK_K / 32, "16- or 32-element groups");
        const __m256i s32 = _mm256_madd_epi16(load256(act.bsums), _mm256_set1_epi16(1));  // |sum| ≤ 32·127
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(s32, s32), 0x08);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(sums), _mm256_castsi256_si128(packed));
    }
}

// Adds the dots of RG repacked super-blocks (RG groups of 8 rows) with NC activation columns
// (Q8_K blocks act[c]) to tot[c][row]. With RG = 2 each broadcast activation word serves two
// vpmaddubsw: on Zen 3 the broadcasts, products and int16 adds share the vector pipes, and one
// group of 8 rows left them the bottleneck.
template <int kGroups, int kPairsPerMadd, int NC, int RG>
__attribute__((noinline)) void interleaved_dot(const Interleaved8<kGroups>* sb, const block_q8_K* const (&act)[NC],
                                               float (*tot)[kGemmRows * RG]) {
    constexpr int kQuadsPerGroup = QK_K / 4 / kGroups;
    constexpr int kQuadsPerMadd = kPairsPerMadd < kQuadsPerGroup ? kPairsPerMadd : kQuadsPerGroup;
    __m256i isum[RG][NC];
    for (int g = 0; g < RG; ++g)
        for (int c = 0; c < NC; ++c) isum[g][c] = _mm256_setzero_si256();
    for (int g = 0; g < kGroups; ++g) {
#pragma GCC unroll 8
        for (int q0 = 0; q0 < kQuadsPerGroup; q0 += kQuadsPerMadd) {
            __m256i s16[RG][NC];
#pragma GCC unroll 8
            for (int q = q0; q < q0 + kQuadsPerMadd; ++q) {
                const int quad = g * kQuadsPerGroup + q;
                __m256i w[RG];
                for (int rg = 0; rg < RG; ++rg) w[rg] = _mm256_load_si256(&sb[rg].quads[quad]);
                for (int c = 0; c < NC; ++c) {
                    const __m256i x = broadcast_4_bytes(act[c]->qs + 4 * quad);
                    for (int rg = 0; rg < RG; ++rg) {
                        const __m256i p = _mm256_maddubs_epi16(w[rg], x);
                        s16[rg][c] = q == q0 ? p : _mm256_add_epi16(s16[rg][c], p);
                    }
                }
                // Keeps the sums as they go: GCC otherwise computed every product of the group
                // first and spilled them all to the stack (2.7x slower).
                for (int rg = 0; rg < RG; ++rg)
                    for (int c = 0; c < NC; ++c) __asm__("" : "+x"(s16[rg][c]));
            }
            for (int rg = 0; rg < RG; ++rg) {
                const __m256i scale = _mm256_load_si256(&sb[rg].scales[g]);
                for (int c = 0; c < NC; ++c) isum[rg][c] = _mm256_add_epi32(isum[rg][c], _mm256_madd_epi16(s16[rg][c], scale));
            }
        }
    }
    for (int c = 0; c < NC; ++c) {
        int16_t sums[16];
        group_sum_pairs<kGroups>(*act[c], sums);
        const __m256 da = _mm256_set1_ps(act[c]->d);
        for (int rg = 0; rg < RG; ++rg) {
            __m256i osum = _mm256_setzero_si256();
            for (int p = 0; p < kGroups / 2; ++p)
                osum = _mm256_add_epi32(osum, _mm256_madd_epi16(_mm256_load_si256(&sb[rg].offset_pairs[p]), broadcast_4_bytes(sums + 2 * p)));
            const __m256 v = _mm256_fmsub_ps(_mm256_cvtepi32_ps(isum[rg][c]), sb[rg].d, _mm256_mul_ps(_mm256_cvtepi32_ps(osum), sb[rg].dm));
            float* t = tot[c] + kGemmRows * rg;
            _mm256_store_ps(t, _mm256_fmadd_ps(v, da, _mm256_load_ps(t)));
        }
    }
}

template <int kGroups, int kPairsPerMadd, int NC, int RG>
static inline void dot_columns(const Interleaved8<kGroups>* sb, const uint8_t* a, size_t arb, int64_t ib, int c0,
                               float (*tot)[kGemmRows * RG]) {
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_K*>(a + (c0 + c) * arb) + ib;
    interleaved_dot<kGroups, kPairsPerMadd, NC, RG>(sb, act, tot + c0);
}

// The remaining nc - c0 ≤ NC columns, as one group.
template <int kGroups, int kPairsPerMadd, int NC, int RG>
static inline void dot_last_columns(const Interleaved8<kGroups>* sb, const uint8_t* a, size_t arb, int64_t ib, int c0,
                                    int nc, float (*tot)[kGemmRows * RG]) {
    if (nc - c0 == NC) {
        dot_columns<kGroups, kPairsPerMadd, NC, RG>(sb, a, arb, ib, c0, tot);
    } else if constexpr (NC > 1) {
        dot_last_columns<kGroups, kPairsPerMadd, NC - 1, RG>(sb, a, arb, ib, c0, nc, tot);
    }
}

// All columns of RG repacked super-blocks.
template <int kGroups, int kPairsPerMadd, int RG>
static inline void dot_all_columns(const Interleaved8<kGroups>* sb, const uint8_t* a, size_t arb, int64_t ib, int nc,
                                   float (*tot)[kGemmRows * RG]) {
    int c = 0;
    if constexpr (RG == 1) {
        for (; nc - c >= 2 * kGemmColumnsShort + 2 || nc - c == kGemmColumns; c += kGemmColumns)
            dot_columns<kGroups, kPairsPerMadd, kGemmColumns, 1>(sb, a, arb, ib, c, tot);
        for (; nc - c >= kGemmColumnsShort; c += kGemmColumnsShort)
            dot_columns<kGroups, kPairsPerMadd, kGemmColumnsShort, 1>(sb, a, arb, ib, c, tot);
        if (c < nc) dot_last_columns<kGroups, kPairsPerMadd, kGemmColumnsShort - 1, 1>(sb, a, arb, ib, c, nc, tot);
    } else {
        for (; nc - c >= kGemmColumnsPaired; c += kGemmColumnsPaired)
            dot_columns<kGroups, kPairsPerMadd, kGemmColumnsPaired, RG>(sb, a, arb, ib, c, tot);
        if (c < nc) dot_last_columns<kGroups, kPairsPerMadd, kGemmColumnsPaired - 1, RG>(sb, a, arb, ib, c, nc, tot);
    }
}

// RG groups of 8 rows (starting at w) × nc ≤ kTileCols columns.
template <class F, int RG>
static inline void kquant_gemm_rows(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb, int nc,
                                    float* out, size_t os) {
    using Block = typename F::Block;
    constexpr int G = F::kGroups;
    const int64_t nb = k / QK_K;
    alignas(32) DecodedRow rows[kGemmRows];
    alignas(32) Interleaved8<G> sb[RG];
    alignas(32) float tot[kTileCols][kGemmRows * RG];
    for (int c = 0; c < nc; ++c)
        for (int rg = 0; rg < RG; ++rg) _mm256_store_ps(tot[c] + kGemmRows * rg, _mm256_setzero_ps());
    for (int64_t ib = 0; ib < nb; ++ib) {
        for (int rg = 0; rg < RG; ++rg) {
            for (int r = 0; r < kGemmRows; ++r) {
                const Block* b = reinterpret_cast<const Block*>(w + (kGemmRows * rg + r) * wrb) + ib;
                // The next super-blocks of each row: the hardware prefetchers follow 8-16 streams
                // poorly. (Integer arithmetic: past the row's end the address is never read.)
                const uintptr_t ahead = reinterpret_cast<uintptr_t>(b) + 2 * sizeof(Block);
                for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T0);
                F::decode(*b, rows[r]);
            }
            interleave8<G>(rows, &sb[rg]);
        }
        dot_all_columns<G, F::kPairsPerMadd, RG>(sb, a, arb, ib, nc, tot);
    }
    for (int c = 0; c < nc; ++c)
        for (int r = 0; r < kGemmRows * RG; ++r) out[c * os + r] = tot[c][r];
}

// A format: using Block (the file's block struct); static constexpr int kGroups, kPairsPerMadd;
// static void decode(const Block& b, DecodedRow& out).
// Runs whole groups of 8 rows of the tile (nc ≤ kTileCols columns), two at a time where it can;
// returns how many rows it did.
template <class F>
int kquant_gemm8(int64_t k, const uint8_t* w, size_t wrb, int nr, const uint8_t* a, size_t arb, int nc, float* out,
                 size_t os) {
    const int groups = nr / kGemmRows;
    int g = 0;
    for (; g + 2 <= groups; g += 2)
        kquant_gemm_rows<F, 2>(k, w + size_t(g) * kGemmRows * wrb, wrb, a, arb, nc, out + g * kGemmRows, os);
    if (g < groups) kquant_gemm_rows<F, 1>(k, w + size_t(g) * kGemmRows * wrb, wrb, a, arb, nc, out + g * kGemmRows, os);
    return groups * kGemmRows;
}

// A K-quant mat_tile: batched tiles of 8 rows or more through the repacked path, everything
// else (matvecs, few columns, leftover rows) through the row-by-row tile K.
template <class F, class K>
static inline void kquant_mat_tile(int64_t k, const void* wv, size_t wrb, int nr, const void* av, size_t arb, int nc,
                                   float* out, size_t os) {
    const auto* w = static_cast<const uint8_t*>(wv);
    if (nc >= kGemmMinColumns && nr >= kGemmRows) {
        // Column chunks of at most kTileCols (the drivers never pass more; the kernel checks do).
        int done = 0;
        for (int c0 = 0; c0 < nc; c0 += kTileCols)
            done = kquant_gemm8<F>(k, w, wrb, nr, static_cast<const uint8_t*>(av) + size_t(c0) * arb, arb,
                                   nc - c0 < kTileCols ? nc - c0 : kTileCols, out + size_t(c0) * os, os);
        w += size_t(done) * wrb;
        out += done;
        nr -= done;
        if (nr == 0) return;
    }
    run_tiles<K>(k, w, wrb, nr, av, arb, nc, out, os);
}

}  // namespace
}  // namespace moecpu::kernels::avx2
