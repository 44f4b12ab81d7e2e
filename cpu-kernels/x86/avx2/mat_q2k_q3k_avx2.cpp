// Q2_K and Q3_K weights × Q8_K activations with AVX2.
// Both have 16 sub-blocks of 16 and pack 2 low bits of 128 elements into 32 bytes per half:
// element 128h + 32s + l sits in bits 2s..2s+1 of qs[32h + l], so one 32-byte chunk t = 4h + s
// covers sub-blocks 2t (low lane) and 2t+1 (high lane).
//  Q2_K: x = d·sc·q − dmin·m, q in 0..3        → d·da·Σ sc·Σ(q·a) − dmin·da·Σ m·bsum
//  Q3_K: x = d·(sc−32)·(u − 4), u = q | hbit<<2 → d·da·Σ sc'·(Σ(u·a) − 4·bsum)
// Unsigned u (≤ 7) times signed activations keeps _mm256_maddubs_epi16 far from saturation.
//
// The row tiles (decode's matvec) read each 2-bit field where it lies instead of shifting it
// down: field s of a byte (bits 2s, 2s+1) masked in place is 4^s times the digit for s = 0, 1, 2,
// and field 3 is shifted once to the place of field 2. The chunk's scale carries the missing
// factor 16 / 4^min(s,2), so every product is 16 times the true one, undone exactly (a power of
// two) in the float factor. That is one vector shift per 128 weights instead of three: on Zen 3
// shifts and shuffles share two of the four vector pipes, and they were the bottleneck.
// In-place digits stay small enough: Q2_K ≤ 16·3, Q3_K ≤ 16·7, so a maddubs pair is at most
// 2·112·128 < 32767.
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "cpu-kernels/x86/avx2/kquant_gemm_avx2.h"
#include "cpu-kernels/x86/avx2/tile_runner.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {

const block_q8_K* act_block(const uint8_t* a, size_t arb, int c, int64_t ib) {
    return reinterpret_cast<const block_q8_K*>(a + c * arb) + ib;
}

// The 2-bit values of chunk t (shift s = t % 4) from the 32 bytes of its half.
inline __m256i two_bits(__m256i half_bytes, int s) {
    return _mm256_and_si256(_mm256_srli_epi16(half_bytes, 2 * s), _mm256_set1_epi8(3));
}

// Bit position of field s after in_place_field(): where the row tiles find a digit's low bit.
constexpr int kInPlaceShift[4] = {0, 2, 4, 4};

// Field s of the 32 bytes of a half, masked where it lies (s = 3: taken from the bytes shifted
// right by 2), i.e. the digits times 1 << kInPlaceShift[s].
inline __m256i in_place_field(__m256i half_bytes, __m256i half_bytes_shr2, int s) {
    const __m256i src = s == 3 ? half_bytes_shr2 : half_bytes;
    return _mm256_and_si256(src, _mm256_set1_epi8(static_cast<char>(3 << kInPlaceShift[s])));
}

// Scale registers for in-place digits: index min(s, 2) holds the scales times 16 / 4^min(s,2).
inline int scale_variant(int s) { return s < 2 ? s : 2; }

struct Q2K {
    static constexpr int kRows = 4, kCols = 8, kVecRows = 2;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        const int64_t nb = k / QK_K;
        __m256 acc[R][C];
        zero(acc);
        for (int64_t ib = 0; ib < nb; ++ib) {
            for (int r = 0; r < R; ++r) {
                const block_q2_K* b = reinterpret_cast<const block_q2_K*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(*b), size_t(nb) * sizeof(*b), wrb, R, sizeof(*b),
                               kPrefetchKQuant);
                                const __m128i packed = load128(b->scales);
                const __m128i low4 = _mm_set1_epi8(0x0F);
                const __m256i scales = _mm256_broadcastsi128_si256(_mm_and_si128(packed, low4));
                // Scale bytes ≤ 15 times 16 still fit a byte, and a 16-bit shift moves no bit
                // across bytes.
                const __m256i scaled[3] = {_mm256_slli_epi16(scales, 4), _mm256_slli_epi16(scales, 2), scales};
                const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
                __m256i isum[C];
                for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
                for (int h = 0; h < 2; ++h) {
                    const __m256i qs = load256(b->qs + 32 * h);
                    const __m256i qs_shr2 = _mm256_srli_epi16(qs, 2);
#pragma GCC unroll 4
                    for (int s = 0; s < 4; ++s) {
                        const int t = 4 * h + s;
                        const __m256i q = in_place_field(qs, qs_shr2, s);
                        const __m256i sc = scale_pair_u8(scaled[scale_variant(s)], t);
                        for (int c = 0; c < C; ++c) {
                            const __m256i p = _mm256_maddubs_epi16(q, load256(act_block(a, arb, c, ib)->qs + 32 * t));
                            isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, sc));
                        }
                    }
                }
                // isum is 16 times Σ sc·Σ(q·a).
                const __m256 vd = _mm256_set1_ps(half_to_float(b->d) * (1.0f / 16)), vdmin = _mm256_set1_ps(half_to_float(b->dmin));
                for (int c = 0; c < C; ++c) {
                    const block_q8_K* ab = act_block(a, arb, c, ib);
                    const __m256i msum = _mm256_madd_epi16(mins, load256(ab->bsums));
                    const __m256 t = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), vdmin, _mm256_mul_ps(_mm256_cvtepi32_ps(isum[c]), vd));
                    acc[r][c] = _mm256_fmadd_ps(t, _mm256_broadcast_ss(&ab->d), acc[r][c]);
                }
            }
        }
        store_sums(acc, out, os);
    }
};

// The 16 signed scales (sc − 32) of a Q3_K block: low 4 bits in bytes 0..7 (elements 0..7 from
// the low nibbles, 8..15 from the high nibbles), high 2 bits in bytes 8..11 (element j takes
// bits 2·(j/4) of byte 8 + j%4).
inline __m128i q3k_scales(const uint8_t* packed) {
    const uint32_t lo0 = load_u32(packed), lo1 = load_u32(packed + 4), hi = load_u32(packed + 8);
    const uint32_t m4 = 0x0F0F0F0Fu, m2 = 0x03030303u;
    const uint32_t s0 = (lo0 & m4) | (((hi >> 0) & m2) << 4);
    const uint32_t s1 = (lo1 & m4) | (((hi >> 2) & m2) << 4);
    const uint32_t s2 = ((lo0 >> 4) & m4) | (((hi >> 4) & m2) << 4);
    const uint32_t s3 = ((lo1 >> 4) & m4) | (((hi >> 6) & m2) << 4);
    const __m128i u = _mm_set_epi32(static_cast<int>(s3), static_cast<int>(s2), static_cast<int>(s1), static_cast<int>(s0));
    return _mm_sub_epi8(u, _mm_set1_epi8(32));
}

// Q3_K digits u = q | hbit << 2 of chunk t = 4h + s: bit t of hmask[l] is the high bit of element
// 32t + l; walking t moves it to bit 2 (shifts stay within 16-bit lanes; the mask keeps only bits
// that came from the same byte).
inline __m256i q3k_chunk_digits(__m256i qs_half, __m256i hmask, int h, int s) {
    const int t = 4 * h + s;
    const __m256i hb = t <= 2 ? _mm256_slli_epi16(hmask, 2 - t) : _mm256_srli_epi16(hmask, t - 2);
    return _mm256_or_si256(two_bits(qs_half, s), _mm256_and_si256(hb, _mm256_set1_epi8(4)));
}

struct Q3K {
    static constexpr int kRows = 4, kCols = 8, kVecRows = 2;

    template <int R, int C>
    static void tile(int64_t k, const uint8_t* w, size_t wrb, const uint8_t* a, size_t arb,
                     float* out, size_t os) {
        const int64_t nb = k / QK_K;
        __m256 acc[R][C];
        zero(acc);
        for (int64_t ib = 0; ib < nb; ++ib) {
            for (int r = 0; r < R; ++r) {
                const block_q3_K* b = reinterpret_cast<const block_q3_K*>(w + r * wrb) + ib;
                prefetch_ahead(w + r * wrb, size_t(ib) * sizeof(*b), size_t(nb) * sizeof(*b), wrb, R, sizeof(*b),
                               kPrefetchKQuant);
                const __m128i sc8 = q3k_scales(b->scales);
                // int16 scales with sub-blocks 0, 2, …, 14 in the low lane and 1, 3, …, 15 in
                // the high one, so chunk t's pair is element t of each lane.
                const __m256i by_lane = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)));
                const __m256i scaled[3] = {_mm256_slli_epi16(by_lane, 4), _mm256_slli_epi16(by_lane, 2), by_lane};
                // Bit t of hmask is the high bit of chunk t; it belongs 2 above the chunk's field.
                const __m256i hmask = load256(b->hmask);
                const __m256i h_up3 = _mm256_slli_epi16(hmask, 3), h_down1 = _mm256_srli_epi16(hmask, 1);
                __m256i isum[C];
                for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
                for (int h = 0; h < 2; ++h) {
                    const __m256i qs = load256(b->qs + 32 * h);
                    const __m256i qs_shr2 = _mm256_srli_epi16(qs, 2);
#pragma GCC unroll 4
                    for (int s = 0; s < 4; ++s) {
                        const int t = 4 * h + s;
                        // hmask moved so bit t lands on bit kInPlaceShift[s] + 2 (16-bit shifts
                        // are safe: the bit stays within its byte).
                        const __m256i hb = t == 0 ? _mm256_slli_epi16(hmask, 2)
                                         : t == 2 ? _mm256_slli_epi16(hmask, 4)
                                         : t == 4 ? _mm256_srli_epi16(hmask, 2)
                                         : t == 6 ? hmask
                                         : t < 4 ? h_up3 : h_down1;
                        const __m256i u = _mm256_or_si256(in_place_field(qs, qs_shr2, s),
                                                          _mm256_and_si256(hb, _mm256_set1_epi8(static_cast<char>(4 << kInPlaceShift[s]))));
                        const __m256i sc = broadcast_i16(scaled[scale_variant(s)], t);
                        for (int c = 0; c < C; ++c) {
                            const __m256i p = _mm256_maddubs_epi16(u, load256(act_block(a, arb, c, ib)->qs + 32 * t));
                            isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, sc));
                        }
                    }
                }
                const __m256i scales16 = _mm256_cvtepi8_epi16(sc8);
                const float d16 = half_to_float(b->d) * (1.0f / 16);
                for (int c = 0; c < C; ++c) {
                    const block_q8_K* ab = act_block(a, arb, c, ib);
                    // 16·Σ sc·(Σ u·a − 4·bsum): the offset of u folded in through the bsums.
                    const __m256i corr = _mm256_madd_epi16(scales16, load256(ab->bsums));
                    const __m256i total = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(corr, 6));
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d16 * ab->d), acc[r][c]);
                }
            }
        }
        store_sums(acc, out, os);
    }
};

struct Q2KGemm {
    using Block = block_q2_K;
    static constexpr int kGroups = 16;
    static constexpr int kPairsPerMadd = 4;  // a whole 16-element group: 4 · 2·3·127 < 32767
    static void decode(const Block& b, DecodedRow& out) {
        for (int h = 0; h < 2; ++h) {
            const __m256i qs = load256(b.qs + 32 * h);
            for (int s = 0; s < 4; ++s)
                _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 32 * (4 * h + s)), two_bits(qs, s));
        }
        const __m128i packed = load128(b.scales), low4 = _mm_set1_epi8(0x0F);
        const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(packed, low4));
        const __m256i m = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.scales), sc);
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.offsets), m);
        out.d = half_to_float(b.d);
        out.dm = half_to_float(b.dmin);
    }
};

// Q3_K as x = d·s·u − d·(4s): digits u = q | hbit << 2 in 0..7, s the signed scale.
struct Q3KGemm {
    using Block = block_q3_K;
    static constexpr int kGroups = 16;
    static constexpr int kPairsPerMadd = 4;  // 4 · 2·7·127 < 32767
    static void decode(const Block& b, DecodedRow& out) {
        const __m256i hmask = load256(b.hmask);
        for (int h = 0; h < 2; ++h) {
            const __m256i qs = load256(b.qs + 32 * h);
            for (int s = 0; s < 4; ++s)
                _mm256_store_si256(reinterpret_cast<__m256i*>(out.digits + 32 * (4 * h + s)), q3k_chunk_digits(qs, hmask, h, s));
        }
        const __m256i sc = _mm256_cvtepi8_epi16(q3k_scales(b.scales));
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.scales), sc);
        _mm256_store_si256(reinterpret_cast<__m256i*>(out.offsets), _mm256_slli_epi16(sc, 2));
        out.d = out.dm = half_to_float(b.d);
    }
};

}  // namespace

void mat_tile_q2_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    kquant_mat_tile<Q2KGemm, Q2K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

void mat_tile_q3_K(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,
                   size_t a_row_bytes, int nc, float* out, size_t out_stride) {
    kquant_mat_tile<Q3KGemm, Q3K>(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride);
}

}  // namespace moecpu::kernels::avx2
