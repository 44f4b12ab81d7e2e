// AVX-512 tiles of Q4_K, Q5_K and Q6_K against Q8_K activations (driver: kquant_tile_avx512.h).
#include <cstring>

#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/kquant_tile_avx512.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// The 4-bit digits of Q4_K / Q5_K: 32 bytes hold two 32-element sub-blocks, low nibbles first.
MOECPU_AVX512_INLINE __m512i nibble_chunk(const uint8_t* qs32) {
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs32)));
    return _mm512_and_si512(_mm512_mask_blend_epi64(0xF0, both, _mm512_srli_epi16(both, 4)), _mm512_set1_epi8(0x0F));
}

// The eight 6-bit scales and mins of Q4_K / Q5_K packed in 12 bytes (ggml's get_scale_min_k4):
// scales 0-3 and mins 0-3 are the low 6 bits of bytes 0-3 and 4-7; scales / mins 4-7 take their
// low 4 bits from the low / high nibbles of bytes 8-11 and their top 2 bits from the top 2 bits
// of bytes 0-3 / 4-7. Four values are assembled per 32-bit word.
MOECPU_AVX512_INLINE void q4_K_scales_and_mins(const uint8_t p[12], __m128i* scales16, __m256i* bias16) {
    uint32_t word[3];
    std::memcpy(word, p, 12);
    const uint32_t six_bits = 0x3F3F3F3Fu, nibbles = 0x0F0F0F0Fu, pairs = 0x03030303u;
    const uint32_t scales_lo = word[0] & six_bits;
    const uint32_t mins_lo = word[1] & six_bits;
    const uint32_t scales_hi = (word[2] & nibbles) | (((word[0] >> 6) & pairs) << 4);
    const uint32_t mins_hi = ((word[2] >> 4) & nibbles) | (((word[1] >> 6) & pairs) << 4);
    *scales16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(scales_hi), static_cast<int>(scales_lo)));
    // One min per 32 elements = two bsums groups: [m0 m0 m1 m1 … m7 m7].
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(mins_hi), static_cast<int>(mins_lo)));
    *bias16 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(mins16, mins16)),
                                      _mm_unpackhi_epi16(mins16, mins16), 1);
}

// Q4_K: x = d·sc·u − dmin·m per 32-element sub-block, u in 0..15.
MOECPU_AVX512_INLINE void unpack_q4_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q4_K& x = reinterpret_cast<const block_q4_K*>(row)[b];
    __m128i scales16;
    q4_K_scales_and_mins(x.scales, &scales16, &sb->bias16);
    for (int chunk = 0; chunk < 4; ++chunk) {
        sb->digits[chunk] = nibble_chunk(x.qs + 32 * chunk);
        sb->scales[chunk] = chunk_scales_per_32(scales16, chunk);
    }
    sb->d = half_to_float(x.d);
    sb->d_bias = half_to_float(x.dmin);
}

// Q5_K: as Q4_K with u in 0..31; bit j of qh[l] is the fifth bit of element 32·j + l.
MOECPU_AVX512_INLINE void unpack_q5_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q5_K& x = reinterpret_cast<const block_q5_K*>(row)[b];
    __m128i scales16;
    q4_K_scales_and_mins(x.scales, &scales16, &sb->bias16);
    const __m512i high_bits = bytes_and_shifted(x.qh, 1);
    const __m512i sixteen = _mm512_set1_epi8(16);
    for (int chunk = 0; chunk < 4; ++chunk) {
        const __m512i low4 = nibble_chunk(x.qs + 32 * chunk);
        const __mmask64 set = _mm512_test_epi8_mask(high_bits, _mm512_set1_epi8(static_cast<char>(1 << (2 * chunk))));
        sb->digits[chunk] = _mm512_mask_add_epi8(low4, set, low4, sixteen);
        sb->scales[chunk] = chunk_scales_per_32(scales16, chunk);
    }
    sb->d = half_to_float(x.d);
    sb->d_bias = half_to_float(x.dmin);
}

// Q6_K: x = d·sc·(u − 32) per 16-element sub-block, u in 0..63 from 4 bits of ql and 2 of qh.
// Per 128-element half: ql[0..63] low nibbles are elements 0..63, high nibbles 64..127;
// qh[l] bit pairs 0-1, 2-3, 4-5, 6-7 belong to elements l, l+32, l+64, l+96.
MOECPU_AVX512_INLINE void unpack_q6_K(const uint8_t* row, int64_t b, KSuperBlock* sb) {
    const block_q6_K& x = reinterpret_cast<const block_q6_K*>(row)[b];
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    for (int half = 0; half < 2; ++half) {
        const __m512i ql = _mm512_loadu_si512(x.ql + 64 * half);
        const __m512i qh = bytes_and_shifted(x.qh + 32 * half, 2);  // pairs [0-1 | 2-3] then [4-5 | 6-7]
        sb->digits[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                               _mm512_and_si512(_mm512_slli_epi16(qh, 4), bits45));
        sb->digits[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                                   _mm512_and_si512(qh, bits45));
    }
    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales)));
    for (int chunk = 0; chunk < 4; ++chunk) sb->scales[chunk] = chunk_scales_per_16(scales16, chunk);
    sb->bias16 = _mm256_slli_epi16(scales16, 5);  // 32·sc per group
    sb->d = half_to_float(x.d);
    sb->d_bias = sb->d;
}

}  // namespace

MOECPU_AVX512_KQUANT_TILE(mat_tile_q4_K, unpack_q4_K, false)
MOECPU_AVX512_KQUANT_TILE(mat_tile_q5_K, unpack_q5_K, false)
MOECPU_AVX512_KQUANT_TILE(mat_tile_q6_K, unpack_q6_K, true)

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
