// The AVX-512 matvec (one to four activation columns) of Q4_0, Q5_0 and Q8_0 rows against Q8_0
// activations, built for short rows (DeepSeek's attn_k_b: 128 elements, four Q4_0 blocks) and used
// for long ones too. Per row it does only what depends on the row:
//  - a group of blocks (Q4_0: four, 72 bytes; Q5_0: four, 88; Q8_0: two, 68) is read with three
//    32-byte loads, the last one overlapping (two overlapping 64-byte loads, which cross cache
//    lines, let one Zen 5 core stream the rows from DRAM at 17 GB/s, these 47 GB/s); one vpermt2w
//    (BW, not VBMI) gathers its quants into whole registers, one more spreads its fp16 scales;
//  - the weights are the unsigned operand of vpdpbusd as stored (Q4_0: nibble q in 0..15; Q5_0:
//    q in 0..31; Q8_0: w ^ 0x80 = w + 128) and the activation the signed one, so the format's
//    offset (8, 16, 128) times Σa per 4-byte group is exact and activation-only: it is computed
//    when the activation is staged and is the start value of every row's sum;
//  - 16 rows' lane vectors are added up by a transposing reduction (45 operations) into one
//    vector of 16 row sums instead of 16 horizontal sums.
// The activation is staged once per tile (quants rearranged to the weights' lane order, offset
// sums, scales spread), on the stack, and reused by every row; rows are read whole, one after the
// other. Callers check block32_matvec_fits first: the stage has a fixed size.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// One column's group of blocks, staged: the signed activation quants in the weights' lane order
// (Q8_0 uses a[0] only), -offset·Σa per 4-byte group (each row's start value) and the activation
// scale of every lane.
template <int kRegs>
struct StagedActGroup {
    __m512i a[kRegs];
    __m512i start;
    __m512 d;
};

// A row's group of blocks: unsigned quants in the lane order of StagedActGroup::a, scale per lane.
template <int kRegs>
struct WeightGroup {
    __m512i q[kRegs];
    __m512 d;
};

// Stack bytes of staged activation per tile call: 7168 Q4_0 elements (DeepSeek's n_embd) of two
// columns, 14336 of one. Every row reads NC × 256 staged bytes per 72 weight bytes, so the stage
// must stay in L1 (48 KB on Zen 5, 32 KB on older cores): a 64 KB stage (k = 7168, four columns)
// made rows from DRAM 1.4× slower than signed_weights_x_q8_0, where longer activations go.
constexpr size_t kMatvecStageBytes = 32 * 1024;

MOECPU_AVX512_INLINE __mmask64 first_bytes(int64_t n) {
    return n >= 64 ? ~__mmask64(0) : n <= 0 ? __mmask64(0) : (__mmask64(1) << n) - 1;
}

// Lanes [4i, 4i + 3] of the result = lane i of a 4-float vector (Q4_0: one block per 128 bits).
MOECPU_AVX512_INLINE __m512 spread_quarters(__m128 v) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(v));
}
// Lanes [8i, 8i + 7] = lane i (Q8_0: one block per 256 bits).
MOECPU_AVX512_INLINE __m512 spread_halves(__m128 v) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                 _mm512_castps128_ps512(v));
}

// Up to four fp16 scales of activation blocks, absent ones zero (built in a general register: a
// vector load of halves just stored would stall on store forwarding).
MOECPU_AVX512_INLINE __m128 act_scales(const block_q8_0* a, int n) {
    uint64_t bits = 0;
    for (int b = 0; b < 4; ++b)
        if (b < n) bits |= uint64_t(a[b].d) << (16 * b);
    return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(bits)));
}

MOECPU_AVX512_INLINE __m128i act_quarter(const block_q8_0* a, int b, int n, int half) {
    return b < n ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[b].qs + 16 * half)) : _mm_setzero_si128();
}

MOECPU_AVX512_INLINE __m512i join_quarters(__m128i q0, __m128i q1, __m128i q2, __m128i q3) {
    const __m256i low = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
    const __m256i high = _mm256_inserti128_si256(_mm256_castsi128_si256(q2), q3, 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}

// Four activation blocks [0, n) (n <= 4; absent ones stage as zero) in the lane order of the
// four-block formats: 128-bit lane b of a[0] holds block b's elements 0..15, of a[1] 16..31.
MOECPU_AVX512_INLINE StagedActGroup<2> stage_four_blocks(const block_q8_0* a, int n, int offset_value) {
    StagedActGroup<2> s;
    s.a[0] = join_quarters(act_quarter(a, 0, n, 0), act_quarter(a, 1, n, 0), act_quarter(a, 2, n, 0),
                           act_quarter(a, 3, n, 0));
    s.a[1] = join_quarters(act_quarter(a, 0, n, 1), act_quarter(a, 1, n, 1), act_quarter(a, 2, n, 1),
                           act_quarter(a, 3, n, 1));
    const __m512i offset = _mm512_set1_epi8(static_cast<char>(offset_value));
    const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, s.a[0]), offset, s.a[1]);
    s.start = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
    s.d = spread_quarters(act_scales(a, n));
    return s;
}

// What Q4_0 and Q5_0 share: groups of four blocks in two registers of unsigned quants (lane
// order of stage_four_blocks), against the activation offset by kOffset.
template <int kOffsetValue>
struct FourBlockGroup {
    static constexpr int kGroupBlocks = 4;
    using Staged = StagedActGroup<2>;
    using Weights = WeightGroup<2>;
    static constexpr int kOffset = kOffsetValue;

    static MOECPU_AVX512_INLINE __m512i dot(const Weights& w, const Staged& s) {
        return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s.start, w.q[0], s.a[0]), w.q[1], s.a[1]);
    }

    static MOECPU_AVX512_INLINE Staged stage(const block_q8_0* a, int n) { return stage_four_blocks(a, n, kOffset); }
};

// Q4_0: four blocks of 18 bytes (fp16 d, 16 bytes of nibbles: byte j = element j | element j + 16
// << 4). 128-bit lane b of q[0] holds block b's elements 0..15, of q[1] its elements 16..31.
struct MatvecQ4_0 : FourBlockGroup<8> {
    static constexpr size_t kBlockBytes = sizeof(block_q4_0);
    static constexpr size_t kLastLoad = 40;  // the last 32-byte load ends at the group's end

    struct Indices {
        __m512i qs, d;
    };
    // Word t of block b's nibbles sits at byte 18b + 2 + 2t: words 9b + 1 + t of the first 64 bytes,
    // block 3's words 8 + t of the last load. Scale d of block b: word 9b.
    static MOECPU_AVX512_INLINE Indices indices() {
        alignas(64) static constexpr int16_t kQs[32] = {1,  2,  3,  4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15, 16, 17,
                                                        19, 20, 21, 22, 23, 24, 25, 26, 40, 41, 42, 43, 44, 45, 46, 47};
        alignas(64) static constexpr int16_t kD[32] = {0, 0, 0, 0, 9, 9, 9, 9, 18, 18, 18, 18, 27, 27, 27, 27};
        return {_mm512_load_si512(kQs), _mm512_load_si512(kD)};
    }

    static MOECPU_AVX512_INLINE Weights unpack(__m512i first, __m512i last, const Indices& idx) {
        const __m512i packed = _mm512_permutex2var_epi16(first, idx.qs, last);
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        Weights g;
        g.q[0] = _mm512_and_si512(packed, low4);
        g.q[1] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
        g.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx.d, first)));
        return g;
    }
};

// Q5_0: four blocks of 22 bytes (fp16 d, 32-bit qh: bit j is element j's fifth bit, 16 bytes of
// nibbles as Q4_0), q = nibble + 16 · fifth bit in 0..31, offset 16. Lanes as Q4_0.
struct MatvecQ5_0 : FourBlockGroup<16> {
    static constexpr size_t kBlockBytes = sizeof(block_q5_0);
    static constexpr size_t kLastLoad = 56;  // bytes 56..87: the group's end

    struct Indices {
        __m512i qs, d, qh;
    };
    // Group word w sits at word w of the first 64 bytes (w < 32) or word w - 28 of the last load
    // (index 32 + w - 28). Block b: d at word 11b, qh at words 11b + 1 (elements 0..15) and
    // 11b + 2 (16..31), nibbles at words 11b + 3 .. 11b + 10.
    static MOECPU_AVX512_INLINE Indices indices() {
        alignas(64) static constexpr int16_t kQs[32] = {3,  4,  5,  6,  7,  8,  9,  10, 14, 15, 16, 17, 18, 19, 20, 21,
                                                        25, 26, 27, 28, 29, 30, 31, 36, 40, 41, 42, 43, 44, 45, 46, 47};
        alignas(64) static constexpr int16_t kD[32] = {0, 0, 0, 0, 11, 11, 11, 11, 22, 22, 22, 22, 37, 37, 37, 37};
        alignas(64) static constexpr int16_t kQh[32] = {1, 12, 23, 38, 2, 13, 24, 39};
        return {_mm512_load_si512(kQs), _mm512_load_si512(kD), _mm512_load_si512(kQh)};
    }

    static MOECPU_AVX512_INLINE Weights unpack(__m512i first, __m512i last, const Indices& idx) {
        const __m512i packed = _mm512_permutex2var_epi16(first, idx.qs, last);
        const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
        // The low 16 qh bits of blocks 0..3 are the fifth bits of q[0]'s 64 bytes, the high ones q[1]'s.
        const __m128i qh = _mm512_castsi512_si128(_mm512_permutex2var_epi16(first, idx.qh, last));
        const __mmask64 fifth_low = static_cast<__mmask64>(_mm_cvtsi128_si64(qh));
        const __mmask64 fifth_high = static_cast<__mmask64>(_mm_extract_epi64(qh, 1));
        Weights g;
        const __m512i q0 = _mm512_and_si512(packed, low4);
        const __m512i q1 = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
        g.q[0] = _mm512_mask_add_epi8(q0, fifth_low, q0, sixteen);
        g.q[1] = _mm512_mask_add_epi8(q1, fifth_high, q1, sixteen);
        g.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(first, idx.d, last)));
        return g;
    }
};

// Q8_0: two blocks of 34 bytes (fp16 d, 32 int8). The lower 256 bits of q[0] hold block 0.
struct MatvecQ8_0 {
    static constexpr int kGroupBlocks = 2;
    using Staged = StagedActGroup<1>;
    using Weights = WeightGroup<1>;
    static constexpr size_t kBlockBytes = sizeof(block_q8_0);
    static constexpr int kOffset = 128;
    static constexpr size_t kLastLoad = 36;  // block 1's quants

    struct Indices {
        __m512i qs, d;
    };
    // Block 0's quants are words 1..16 of the first 64 bytes, block 1's the last load. Scales:
    // words 0 and 17.
    static MOECPU_AVX512_INLINE Indices indices() {
        alignas(64) static constexpr int16_t kQs[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                                        32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47};
        alignas(64) static constexpr int16_t kD[32] = {0, 0, 0, 0, 0, 0, 0, 0, 17, 17, 17, 17, 17, 17, 17, 17};
        return {_mm512_load_si512(kQs), _mm512_load_si512(kD)};
    }

    static MOECPU_AVX512_INLINE Weights unpack(__m512i first, __m512i last, const Indices& idx) {
        Weights g;
        g.q[0] = _mm512_xor_si512(_mm512_permutex2var_epi16(first, idx.qs, last),
                                  _mm512_set1_epi8(static_cast<char>(0x80)));
        g.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx.d, first)));
        return g;
    }

    static MOECPU_AVX512_INLINE __m512i dot(const Weights& w, const Staged& s) {
        return _mm512_dpbusd_epi32(s.start, w.q[0], s.a[0]);
    }

    static MOECPU_AVX512_INLINE Staged stage(const block_q8_0* a, int n) {
        Staged s;
        s.a[0] = join_quarters(act_quarter(a, 0, n, 0), act_quarter(a, 0, n, 1), act_quarter(a, 1, n, 0),
                               act_quarter(a, 1, n, 1));
        const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), s.a[0]);
        s.start = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
        s.d = spread_halves(act_scales(a, n));
        return s;
    }
};

// Four rows' lane vectors → one vector whose 128-bit lane L, element j, is row j's sum over lane L.
MOECPU_AVX512_INLINE __m512 sum_4_rows(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
    const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(v0, v1), _mm512_unpackhi_ps(v0, v1));
    const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(v2, v3), _mm512_unpackhi_ps(v2, v3));
    return _mm512_add_ps(_mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));
}

// vshuff32x4 spelled through the 64-bit-lane form (the same 128-bit lane permute), which the
// SIMDe test build has an alias for.
template <int kImm>
MOECPU_AVX512_INLINE __m512 shuffle_quarters(__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_shuffle_i64x2(_mm512_castps_si512(a), _mm512_castps_si512(b), kImm));
}

// Four sum_4_rows results (rows 0-3, 4-7, 8-11, 12-15) → lane r = row r's total.
MOECPU_AVX512_INLINE __m512 sum_16_rows(__m512 q0, __m512 q1, __m512 q2, __m512 q3) {
    const __m512 r01 = _mm512_add_ps(shuffle_quarters<_MM_SHUFFLE(1, 0, 1, 0)>(q0, q1),
                                     shuffle_quarters<_MM_SHUFFLE(3, 2, 3, 2)>(q0, q1));
    const __m512 r23 = _mm512_add_ps(shuffle_quarters<_MM_SHUFFLE(1, 0, 1, 0)>(q2, q3),
                                     shuffle_quarters<_MM_SHUFFLE(3, 2, 3, 2)>(q2, q3));
    return _mm512_add_ps(shuffle_quarters<_MM_SHUFFLE(2, 0, 2, 0)>(r01, r23),
                         shuffle_quarters<_MM_SHUFFLE(3, 1, 3, 1)>(r01, r23));
}

// One row's lane vectors over `n_full` whole groups and a partial one of `tail_bytes` (> 0 only
// at the row's end: masked loads read only it), per column: every lane's products scaled by
// d_w·d_a. kGroups > 0 fixes n_full at compile time (short rows: the loop unrolls away).
template <class F, int NC, int kGroups>
MOECPU_AVX512_INLINE void row_lanes(const uint8_t* groups, int n_full, int64_t tail_bytes,
                                    const typename F::Staged* staged, const typename F::Indices& idx, __m512 acc[NC]) {
    constexpr size_t kGroupBytes = F::kGroupBlocks * F::kBlockBytes;
    if (kGroups > 0) n_full = kGroups;
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int g = 0; g < n_full; ++g) {
        const uint8_t* p = groups + g * kGroupBytes;
        const __m512i first = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)), 1);
        const __m512i last = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + F::kLastLoad)));
        const typename F::Weights w = F::unpack(first, last, idx);
        for (int c = 0; c < NC; ++c) {
            const typename F::Staged& s = staged[g * NC + c];
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(F::dot(w, s)), s.d), w.d, acc[c]);
        }
    }
    if (kGroups == 0 && tail_bytes > 0) {
        const uint8_t* p = groups + n_full * kGroupBytes;
        const typename F::Weights w =
            F::unpack(_mm512_maskz_loadu_epi8(first_bytes(tail_bytes), p),
                      _mm512_maskz_loadu_epi8(first_bytes(tail_bytes - int64_t(F::kLastLoad)), p + F::kLastLoad), idx);
        for (int c = 0; c < NC; ++c) {
            const typename F::Staged& s = staged[n_full * NC + c];
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(F::dot(w, s)), s.d), w.d, acc[c]);
        }
    }
}

// Four rows starting at `row` (those at or past `rows` read as zero) → sum_4_rows per column.
template <class F, int NC, int kGroups>
MOECPU_AVX512_INLINE void four_rows(const uint8_t* row, size_t row_bytes, int rows, int n_full, int64_t tail_bytes,
                                    const typename F::Staged* staged, const typename F::Indices& idx,
                                    __m512 quad[NC]) {
    __m512 v[4][NC];
    for (int i = 0; i < 4; ++i) {
        if (i < rows) {
            row_lanes<F, NC, kGroups>(row + i * row_bytes, n_full, tail_bytes, staged, idx, v[i]);
        } else {
            for (int c = 0; c < NC; ++c) v[i][c] = _mm512_setzero_ps();
        }
    }
    for (int c = 0; c < NC; ++c) quad[c] = sum_4_rows(v[0][c], v[1][c], v[2][c], v[3][c]);
}

// All rows against the staged activation.
template <class F, int NC, int kGroups>
void rows_against_stage(const TileArgs& t, int c0, const typename F::Staged* staged, int n_full, int64_t tail_bytes) {
    const typename F::Indices idx = F::indices();
    for (int r0 = 0; r0 < t.nr; r0 += 16) {
        const int rows = t.nr - r0 < 16 ? t.nr - r0 : 16;
        const uint8_t* row = t.w + size_t(r0) * t.w_row_bytes;
        __m512 quads[4][NC];
        if (rows == 16) {
            for (int j = 0; j < 4; ++j)
                four_rows<F, NC, kGroups>(row + 4 * j * t.w_row_bytes, t.w_row_bytes, 4, n_full, tail_bytes, staged,
                                          idx, quads[j]);
        } else {
            for (int j = 0; j < 4; ++j)
                four_rows<F, NC, kGroups>(row + 4 * j * t.w_row_bytes, t.w_row_bytes, rows - 4 * j, n_full,
                                          tail_bytes, staged, idx, quads[j]);
        }
        for (int c = 0; c < NC; ++c) {
            const __m512 sums = sum_16_rows(quads[0][c], quads[1][c], quads[2][c], quads[3][c]);
            float* out = t.out + (c0 + c) * t.out_stride + r0;
            if (rows == 16) {
                _mm512_storeu_ps(out, sums);
            } else {
                alignas(64) float lane[16];
                _mm512_store_ps(lane, sums);
                for (int r = 0; r < rows; ++r) out[r] = lane[r];
            }
        }
    }
}

template <class F, int NC>
constexpr int64_t kMatvecStageGroups = int64_t(kMatvecStageBytes / (NC * sizeof(typename F::Staged)));

// Whether rows of k elements against NC columns fit the stage.
template <class F, int NC>
bool block32_matvec_fits(int64_t k) {
    const int64_t n_groups = (k / 32 + F::kGroupBlocks - 1) / F::kGroupBlocks;
    return n_groups <= kMatvecStageGroups<F, NC>;
}

// Rows × NC columns starting at c0; block32_matvec_fits(t.k) must hold.
template <class F, int NC>
void block32_matvec(const TileArgs& t, int c0) {
    const int64_t nb = t.k / 32;
    const int n_groups = int((nb + F::kGroupBlocks - 1) / F::kGroupBlocks);
    typename F::Staged staged[kMatvecStageGroups<F, NC> * NC];  // [group][column]
    for (int c = 0; c < NC; ++c) {
        const auto* act = reinterpret_cast<const block_q8_0*>(t.a + (c0 + c) * t.a_row_bytes);
        for (int g = 0; g < n_groups; ++g) {
            const int64_t b0 = int64_t(g) * F::kGroupBlocks;
            const int n_blocks = int(nb - b0 < F::kGroupBlocks ? nb - b0 : F::kGroupBlocks);
            staged[g * NC + c] = F::stage(act + b0, n_blocks);
        }
    }
    // Only the row's last group can be partial.
    const int n_full = int(nb / F::kGroupBlocks);
    const int64_t tail_bytes = (nb % F::kGroupBlocks) * int64_t(F::kBlockBytes);
    if (tail_bytes == 0 && n_full == 1)
        rows_against_stage<F, NC, 1>(t, c0, staged, n_full, tail_bytes);
    else if (tail_bytes == 0 && n_full == 2)
        rows_against_stage<F, NC, 2>(t, c0, staged, n_full, tail_bytes);
    else
        rows_against_stage<F, NC, 0>(t, c0, staged, n_full, tail_bytes);
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
