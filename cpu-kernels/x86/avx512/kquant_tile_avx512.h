// The shared driver of the AVX-512 K-quant tiles (Q2_K … Q6_K against Q8_K activations).
// Each format only says how to unpack one 256-element super-block into a KSuperBlock; the driver
// unpacks it once per row and dots it with a group of up to four activation columns.
//
// Weights are unpacked to unsigned digits u (0..63 at most) so that vpmaddubsw (unsigned ×
// signed bytes, pair sums saturating to int16) is exact: |u1·a1 + u2·a2| <= 2·63·128 = 16128.
// vpdpwssd then multiplies each int16 pair sum by its sub-block scale into 32-bit lanes.
// A format's offset or min becomes `bias16` (one int16 per 16-element group) times the
// activation's bsums, folded in once per super-block.
#pragma once
#include <cstdint>

#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

struct KSuperBlock {
    __m512i digits[4];  // unsigned weight digits of 64 consecutive elements each
    __m512i scales[4];  // int16 scale of each element pair of the matching digits register
    __m256i bias16;     // per 16-element group: multiplies the activation's bsums
    float d;            // scale of Σ scale·u·a
    float d_bias;       // scale of Σ bias16·bsum, which is subtracted
};

using KUnpackFn = void (*)(const uint8_t* row, int64_t b, KSuperBlock* out);

// vpermw indices spreading int16 scales over the 32 int16 lanes (element pairs) of each
// 64-element chunk: per 32-element sub-block, [2c ×16 | 2c+1 ×16]; per 16, [4c ×8 … 4c+3 ×8].
struct ScaleSpreadIndices {
    alignas(64) uint16_t per_32[4][32];
    alignas(64) uint16_t per_16[4][32];
};
constexpr ScaleSpreadIndices make_scale_spread_indices() {
    ScaleSpreadIndices s{};
    for (int chunk = 0; chunk < 4; ++chunk)
        for (int lane = 0; lane < 32; ++lane) {
            s.per_32[chunk][lane] = static_cast<uint16_t>(2 * chunk + lane / 16);
            s.per_16[chunk][lane] = static_cast<uint16_t>(4 * chunk + lane / 8);
        }
    return s;
}
alignas(64) constexpr ScaleSpreadIndices kScaleSpread = make_scale_spread_indices();

MOECPU_AVX512_INLINE __m512i chunk_scales_per_32(__m128i scales16, int chunk) {
    return _mm512_permutexvar_epi16(_mm512_load_si512(kScaleSpread.per_32[chunk]), _mm512_castsi128_si512(scales16));
}

MOECPU_AVX512_INLINE __m512i chunk_scales_per_16(__m256i scales16, int chunk) {
    return _mm512_permutexvar_epi16(_mm512_load_si512(kScaleSpread.per_16[chunk]), _mm512_castsi256_si512(scales16));
}

// 32 bytes → [bytes | bytes >> shift (16-bit lanes)]: the upper half sees the next bit field.
MOECPU_AVX512_INLINE __m512i bytes_and_shifted(const uint8_t* p, int shift_upper) {
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_mask_blend_epi64(0xF0, both, _mm512_srl_epi16(both, _mm_cvtsi32_si128(shift_upper)));
}

// Signed dot of one unpacked super-block with one Q8_K block, as a vector of 16 float lanes to
// be summed, already scaled. `kBiasSharesD`: bias scale equals d, so it is subtracted exactly in
// integers (Q3_K, Q6_K, whose offsets nearly cancel the main sum).
template <bool kBiasSharesD>
MOECPU_AVX512_INLINE __m512 super_block_dot(const KSuperBlock& sb, const block_q8_K& a, __m512 acc) {
    // Two partial sums halve the dependency chain of the vpdpwssd accumulations.
    __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
    for (int chunk = 0; chunk < 4; chunk += 2) {
        const __m512i act0 = _mm512_loadu_si512(a.qs + 64 * chunk);
        const __m512i act1 = _mm512_loadu_si512(a.qs + 64 * (chunk + 1));
        even = _mm512_dpwssd_epi32(even, _mm512_maddubs_epi16(sb.digits[chunk], act0), sb.scales[chunk]);
        odd = _mm512_dpwssd_epi32(odd, _mm512_maddubs_epi16(sb.digits[chunk + 1], act1), sb.scales[chunk + 1]);
    }
    __m512i isum = _mm512_add_epi32(even, odd);
    const __m256i bias = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), sb.bias16);
    if constexpr (kBiasSharesD) {
        isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(bias));
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(sb.d * a.d), acc);
    } else {
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(sb.d * a.d), acc);
        return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(bias)), _mm512_set1_ps(-sb.d_bias * a.d), acc);
    }
}

template <int NC, KUnpackFn Unpack, bool kBiasSharesD>
void kquant_x_q8_K(const TileArgs& t, int c0) {
    const int64_t nb = t.k / QK_K;
    const block_q8_K* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_K*>(t.a + (c0 + c) * t.a_row_bytes);
    for (int r = 0; r < t.nr; ++r) {
        const uint8_t* row = t.w + r * t.w_row_bytes;
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            KSuperBlock sb;
            Unpack(row, b, &sb);
            for (int c = 0; c < NC; ++c) acc[c] = super_block_dot<kBiasSharesD>(sb, act[c][b], acc[c]);
        }
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r] = sum_lanes(acc[c]);
    }
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS

// Defines a MatTileFn `name` from a super-block unpacker.
#define MOECPU_AVX512_KQUANT_TILE(name, unpack, bias_shares_d)                                     \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,                 \
              size_t a_row_bytes, int nc, float* out, size_t out_stride) {                         \
        run_column_groups(make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride), \
                          kquant_x_q8_K<4, unpack, bias_shares_d>, kquant_x_q8_K<3, unpack, bias_shares_d>, \
                          kquant_x_q8_K<2, unpack, bias_shares_d>, kquant_x_q8_K<1, unpack, bias_shares_d>); \
    }
