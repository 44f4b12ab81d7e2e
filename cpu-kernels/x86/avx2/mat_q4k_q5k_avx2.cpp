// Q4_K and Q5_K weights × Q8_K activations with AVX2.
// A super-block holds 8 sub-blocks of 32 with 6-bit scales sc and mins m:
//   dot = d·da·Σ_j sc_j·Σ(q·a) − dmin·da·Σ_j m_j·Σa,
// where Σa of a sub-block comes from the activation's bsums. Weights q are unsigned (0..15 or
// 0..31), so _mm256_maddubs_epi16(q, a) cannot saturate (31·128·2 < 32767); the scale is applied
// by _mm256_madd_epi16 and the super-block is summed in int32 before one conversion to float.
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "cpu-kernels/x86/avx2/kquant_gemm_avx2.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {

// The 12 packed bytes of 6-bit scales and mins → scales as 8 int16 in both lanes, and the mins
// each repeated twice (16 int16) to pair with the 16 bsums of the activation.
struct ScalesMins {
    __m256i scales;
    __m256i mins_dup;
};

// Scalar 32-bit unpacking (it runs on the integer ALUs, beside the vector work) into 8 scale
// bytes then 8 min bytes. With u0, u1, u2 the three words: scales 0..3 = u0 & 0x3F..,
// scales 4..7 = (u2 & 0x0F..) | ((u0 >> 6) & 0x03..) << 4, mins 0..3 = u1 & 0x3F..,
// mins 4..7 = ((u2 >> 4) & 0x0F..) | ((u1 >> 6) & 0x03..) << 4.
inline __m128i packed_scales_mins(const uint8_t* packed) {
    const uint32_t u0 = load_u32(packed), u1 = load_u32(packed + 4), u2 = load_u32(packed + 8);
    const uint32_t sc_lo = u0 & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (u2 & 0x0F0F0F0Fu) | (((u0 >> 6) & 0x03030303u) << 4);
    const uint32_t mn_lo = u1 & 0x3F3F3F3Fu;
    const uint32_t mn_hi = ((u2 >> 4) & 0x0F0F0F0Fu) | (((u1 >> 6) & 0x03030303u) << 4);
    return _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(mn_lo),
                          static_cast<int>(mn_hi));
}

inline ScalesMins unpack_scales_mins(const uint8_t* packed) {
    const __m128i sm = packed_scales_mins(packed);
    return {_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)),
            _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm))};
}

const block_q8_K* act_block(const uint8_t* a, size_t arb, int c, int64_t ib) {
    return reinterpret_cast<const block_q8_K*>(a + c * arb) + ib;
}

// Adds da·(d·isum − dmin·Σ m_j·bsum_j) for each column to the float accumulators of one row
// (d and dmin broadcast once per row; da straight from memory).
template <int C>
inline void finish_superblock(__m256 (&acc)[C], const __m256i (&isum)[C], const __m256i mins_dup,
                              float d, float dmin, const uint8_t* a, size_t arb, int64_t ib) {
    const __m256 vd = _mm256_set1_ps(d), vdmin = _mm256_set1_ps(dmin);
    for (int c = 0; c < C; ++c) {
        const block_q8_K* ab = act_block(a, arb, c, ib);
        const __m256i msum = _mm256_madd_epi16(mins_dup, load256(ab->bsums));
        const __m256 t = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), vdmin, _mm256_mul_ps(_mm256_cvtepi32_ps(isum[c]), vd));
        acc[c] = _mm256_fmadd_ps(t, _mm256_broadcast_ss(&ab->d), acc[c]);
    }
}

// Q5_K digits of chunk j (sub-blocks 2j, 2j+1) from its 32 bytes q of low nibbles and qh, whose
// bits 0 and 1 are the fifth bits (the caller shifts qh right by 2 per chunk). Shifts work within
// 16-bit lanes; the 0x10 mask keeps only bits from the same byte.
inline void q5k_chunk_digits(__m256i q, __m256i qh, __m256i& lo, __m256i& hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    lo = _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
    hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4));
}

struct Q4K {
    static constexpr int kRows = 4, kCols = 8, kVecRows = 2;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        const int64_t nb = k / QK_K;
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        for (int64_t ib = 0; ib < nb; ++ib) {
            for (int r = 0; r < R; ++r) {
                const block_q4_K* b = reinterpret_cast<const block_q4_K*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(*b), size_t(nb) * sizeof(*b), wrb, R, sizeof(*b),
                               kPrefetchKQuant);
                                const ScalesMins sm = unpack_scales_mins(b->scales);
                __m256i isum[C];
                for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
                for (int j = 0; j < 4; ++j) {
                    // 32 bytes: low nibbles are sub-block 2j, high nibbles sub-block 2j+1.
                    const __m256i q = load256(b->qs + 32 * j);
                    const __m256i q_lo = _mm256_and_si256(q, low4);
                    const __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
                    const __m256i s_lo = broadcast_i16(sm.scales, 2 * j);
                    const __m256i s_hi = broadcast_i16(sm.scales, 2 * j + 1);
                    for (int c = 0; c < C; ++c) {
                        const int8_t* aq = act_block(a, arb, c, ib)->qs + 64 * j;
                        const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(q_lo, load256(aq)), s_lo);
                        const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(q_hi, load256(aq + 32)), s_hi);
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(p_lo, p_hi));
                    }
                }
                finish_superblock<C>(acc[r], isum, sm.mins_dup, half_to_float(b->d),
                                     half_to_float(b->dmin), a, arb, ib);
            }
        }
        store_sums<R, C>(acc, out, os);
    }
};

struct Q5K {
    static constexpr int kRows = 4, kCols = 8, kVecRows = 2;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        const int64_t nb = k / QK_K;
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        for (int64_t ib = 0; ib < nb; ++ib) {
            for (int r = 0; r < R; ++r) {
                const block_q5_K* b = reinterpret_cast<const block_q5_K*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(*b), size_t(nb) * sizeof(*b), wrb, R, sizeof(*b),
                               kPrefetchKQuant);
                const ScalesMins sm = unpack_scales_mins(b->scales);
                // Bit 2j of qh[l] is the fifth bit of element 64j + l, bit 2j+1 of element 64j+32+l.
                __m256i qh = load256(b->qh);
                __m256i isum[C];
                for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
                for (int j = 0; j < 4; ++j) {
                    __m256i q_lo, q_hi;
                    q5k_chunk_digits(load256(b->qs + 32 * j), qh, q_lo, q_hi);
                    qh = _mm256_srli_epi16(qh, 2);
                    const __m256i s_lo = broadcast_i16(sm.scales, 2 * j);
                    const __m256i s_hi = broadcast_i16(sm.scales, 2 * j + 1);
                    for (int c = 0; c < C; ++c) {
                        const int8_t* aq = act_block(a, arb, c, ib)->qs + 64 * j;
                        const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(q_lo, load256(aq)), s_lo);
                        const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(q_hi, load256(aq + 32)), s_hi);
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(p_lo, p_hi));
                    }
                }
                finish_superblock<C>(acc[r], isum, sm.mins_dup, half_to_float(b->d),
                                     half_to_float(b->dmin), a, arb, ib);
            }
        }
        store_sums<R, C>(acc, out, os);
    }
};

// The 6-bit scales and mins of Q4_K / Q5_K as the batched path's group scales and offsets.
inline void decode_scales_mins(const uint8_t* packed, DecodedRow& out) {
    const __m128i sm = packed_scales_mins(packed);
    const __m128i zero = _mm_setzero_si128();
    store_groups(out.scales, _mm_cvtepu8_epi16(sm), zero);
    store_groups(out.offsets, _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)), zero);
}

struct Q4KGemm {
    using Block = block_q4_K;
    static constexpr int kGroups = 8;
    static constexpr int kPairsPerMadd = 8;  // digits ≤ 15: 8 · 2·15·127 < 32767
    static void decode(const Block& b, DecodedRow& out) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        for (int j = 0; j < 4; ++j) {
            const __m256i q = load256(b.qs + 32 * j);
            _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 64 * j), _mm256_and_si256(q, low4));
            _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 64 * j + 32), _mm256_and_si256(_mm256_srli_epi16(q, 4), low4));
        }
        decode_scales_mins(b.scales, out);
        out.d = half_to_float(b.d);
        out.dm = half_to_float(b.dmin);
    }
};

struct Q5KGemm {
    using Block = block_q5_K;
    static constexpr int kGroups = 8;
    static constexpr int kPairsPerMadd = 4;  // digits ≤ 31: 4 · 2·31·127 < 32767
    static void decode(const Block& b, DecodedRow& out) {
        __m256i qh = load256(b.qh);
        for (int j = 0; j < 4; ++j) {
            __m256i lo, hi;
            q5k_chunk_digits(load256(b.qs + 32 * j), qh, lo, hi);
            qh = _mm256_srli_epi16(qh, 2);
            _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 64 * j), lo);
            _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 64 * j + 32), hi);
        }
        decode_scales_mins(b.scales, out);
        out.d = half_to_float(b.d);
        out.dm = half_to_float(b.dmin);
    }
};

}  // namespace

void mat_tile_q4_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    kquant_mat_tile<Q4KGemm, Q4K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q5_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    kquant_mat_tile<Q5KGemm, Q5K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::avx2
