// AVX-512 tiles of the float weight types (F32, F16, BF16) against f32 activations: 16 weights
// are widened to f32 once and multiplied into up to four columns; any k works (masked tail).
#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// 16 weights starting at element i as f32; the masked form reads only the lanes in `lanes`.
using WeightLoadFn = __m512 (*)(const uint8_t* row, int64_t i);
using MaskedWeightLoadFn = __m512 (*)(const uint8_t* row, int64_t i, __mmask16 lanes);

MOECPU_AVX512_INLINE __m512 load_f32(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
MOECPU_AVX512_INLINE __m512 load_f32_masked(const uint8_t* row, int64_t i, __mmask16 lanes) {
    return _mm512_maskz_loadu_ps(lanes, reinterpret_cast<const float*>(row) + i);
}

MOECPU_AVX512_INLINE __m512 load_f16(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + i)));
}
MOECPU_AVX512_INLINE __m512 load_f16_masked(const uint8_t* row, int64_t i, __mmask16 lanes) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, reinterpret_cast<const uint16_t*>(row) + i));
}

// bf16 is the top half of an f32: widen to 32 bits and shift into place.
MOECPU_AVX512_INLINE __m512 bf16_to_f32(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
MOECPU_AVX512_INLINE __m512 load_bf16(const uint8_t* row, int64_t i) {
    return bf16_to_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + i)));
}
MOECPU_AVX512_INLINE __m512 load_bf16_masked(const uint8_t* row, int64_t i, __mmask16 lanes) {
    return bf16_to_f32(_mm256_maskz_loadu_epi16(lanes, reinterpret_cast<const uint16_t*>(row) + i));
}

// NR rows × NC columns, one accumulator each: 16 weights of each row are widened once and
// multiplied into every column.
template <int NR, int NC, WeightLoadFn Load, MaskedWeightLoadFn LoadMasked>
MOECPU_AVX512_INLINE void float_rows_x_columns(const TileArgs& t, int r0, const float* const* act, int c0) {
    const uint8_t* rows[NR];
    for (int r = 0; r < NR; ++r) rows[r] = t.w + (r0 + r) * t.w_row_bytes;
    __m512 acc[NR][NC];
    for (int r = 0; r < NR; ++r)
        for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= t.k; i += 16) {
        __m512 w[NR];
        for (int r = 0; r < NR; ++r) w[r] = Load(rows[r], i);
        for (int c = 0; c < NC; ++c) {
            const __m512 a = _mm512_loadu_ps(act[c] + i);
            for (int r = 0; r < NR; ++r) acc[r][c] = _mm512_fmadd_ps(w[r], a, acc[r][c]);
        }
    }
    if (i < t.k) {
        const __mmask16 lanes = static_cast<__mmask16>((1u << (t.k - i)) - 1u);
        __m512 w[NR];
        for (int r = 0; r < NR; ++r) w[r] = LoadMasked(rows[r], i, lanes);
        for (int c = 0; c < NC; ++c) {
            const __m512 a = _mm512_maskz_loadu_ps(lanes, act[c] + i);
            for (int r = 0; r < NR; ++r) acc[r][c] = _mm512_fmadd_ps(w[r], a, acc[r][c]);
        }
    }
    for (int r = 0; r < NR; ++r)
        for (int c = 0; c < NC; ++c) t.out[(c0 + c) * t.out_stride + r0 + r] = sum_lanes(acc[r][c]);
}

// Several rows at once, so that at least four independent FMA chains (and several weight
// streams) are in flight, and each activation load feeds more than one FMA.
template <int NC, WeightLoadFn Load, MaskedWeightLoadFn LoadMasked>
void float_x_f32(const TileArgs& t, int c0) {
    constexpr int kRows = NC == 1 ? 4 : 2;
    const float* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const float*>(t.a + (c0 + c) * t.a_row_bytes);
    int r = 0;
    for (; r + kRows <= t.nr; r += kRows) float_rows_x_columns<kRows, NC, Load, LoadMasked>(t, r, act, c0);
    for (; r < t.nr; ++r) float_rows_x_columns<1, NC, Load, LoadMasked>(t, r, act, c0);
}

}  // namespace

#define MOECPU_AVX512_FLOAT_TILE(name, load, load_masked)                                          \
    void name(int64_t k, const void* w, size_t w_row_bytes, int nr, const void* a,                 \
              size_t a_row_bytes, int nc, float* out, size_t out_stride) {                         \
        run_column_groups(make_tile_args(k, w, w_row_bytes, nr, a, a_row_bytes, nc, out, out_stride), \
                          float_x_f32<4, load, load_masked>, float_x_f32<3, load, load_masked>,    \
                          float_x_f32<2, load, load_masked>, float_x_f32<1, load, load_masked>);   \
    }

MOECPU_AVX512_FLOAT_TILE(mat_tile_f32, load_f32, load_f32_masked)
MOECPU_AVX512_FLOAT_TILE(mat_tile_f16, load_f16, load_f16_masked)
MOECPU_AVX512_FLOAT_TILE(mat_tile_bf16, load_bf16, load_bf16_masked)
#undef MOECPU_AVX512_FLOAT_TILE

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
