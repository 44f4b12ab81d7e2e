// AVX-512 activation quantizers: f32 rows → Q8_0 / Q8_1 / Q8_K blocks, bit-exact with the
// reference quantizers (quant/quantize_ref.h), so every table feeds the same integers to the dots.
#include "cpu-kernels/x86/avx512/avx512_kernels.h"
#include "cpu-kernels/x86/avx512/avx512_tile_common.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

// std::round (halfway cases away from zero) to int32; AVX-512 has no such rounding mode, so
// truncate and step one unit away from zero where the dropped fraction is at least one half
// (the subtraction is exact). Integer truncation also keeps SIMDe's emulation exact, whose
// vrndscaleps misreads the rounding immediate.
inline __m512i round_half_away_from_zero(__m512 v) {
    const __m512i truncated = _mm512_cvttps_epi32(v);
    const __m512 dropped = _mm512_abs_ps(_mm512_sub_ps(v, _mm512_cvtepi32_ps(truncated)));
    const __mmask16 step = _mm512_cmp_ps_mask(dropped, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    // ±1 with the sign of v.
    const __m512 signed_one = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    const __m512i unit_away = _mm512_cvttps_epi32(signed_one);
    return _mm512_mask_add_epi32(truncated, step, truncated, unit_away);
}

// Largest |x| of 32 floats; NaN lanes are skipped as std::max(amax, NaN) does in the reference.
inline float abs_max_32(const float* x) {
    // vmaxps returns its second operand when either is NaN, so the running max stays second.
    __m512 m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x)), _mm512_setzero_ps());
    m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16)), m);
    return _mm512_reduce_max_ps(m);
}

// round(x * id) of 16 floats as int32, then narrowed to int8 (the values fit; the reference's
// int8_t cast truncates the same way vpmovdb does).
inline __m512i rounded_q8(const float* x, __m512 id) {
    return round_half_away_from_zero(_mm512_mul_ps(_mm512_loadu_ps(x), id));
}

}  // namespace

void quantize_act_q8_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_0*>(vy);
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        const float d = abs_max_32(x) / 127.f;
        const __m512 id = _mm512_set1_ps(d != 0.f ? 1.f / d : 0.f);
        y[i].d = float_to_half(d);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs), _mm512_cvtepi32_epi8(rounded_q8(x, id)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16), _mm512_cvtepi32_epi8(rounded_q8(x + 16, id)));
    }
}

void quantize_act_q8_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_1*>(vy);
    for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
        const float d = abs_max_32(x) / 127.f;
        const __m512 id = _mm512_set1_ps(d != 0.f ? 1.f / d : 0.f);
        const __m512i q0 = rounded_q8(x, id);
        const __m512i q1 = rounded_q8(x + 16, id);
        y[i].d = float_to_half(d);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16), _mm512_cvtepi32_epi8(q1));
        // Sum of the int8 values (q0/q1 hold them exactly in int32), scaled by the unrounded d.
        const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        y[i].s = float_to_half(float(sum) * d);
    }
}

void quantize_act_q8_K(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_K*>(vy);
    constexpr int kVectors = QK_K / 16;
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m512 m = _mm512_setzero_ps();
        for (int v = 0; v < kVectors; ++v) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * v)), m);
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.f) {
            y[i].d = 0.f;
            const __m512i zero = _mm512_setzero_si512();
            for (int v = 0; v < QK_K / 64; ++v) _mm512_storeu_si512(y[i].qs + 64 * v, zero);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].bsums), _mm256_setzero_si256());
            continue;
        }
        // The scale's sign comes from the first element of largest magnitude, as in the reference.
        float max = 0.f;
        const __m512 amax_v = _mm512_set1_ps(amax);
        for (int v = 0; v < kVectors; ++v) {
            const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * v)), amax_v, _CMP_EQ_OQ);
            if (hit) {
                max = x[16 * v + __builtin_ctz(static_cast<unsigned>(hit))];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m512 iscale_v = _mm512_set1_ps(iscale);
        const __m512i limit = _mm512_set1_epi32(127);
        for (int v = 0; v < kVectors; ++v) {
            // Round to nearest even (the default MXCSR mode), as the reference's nearest_int.
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(iscale_v, _mm512_loadu_ps(x + 16 * v)));
            q = _mm512_min_epi32(q, limit);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16 * v), _mm512_cvtepi32_epi8(q));
            y[i].bsums[v] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
        }
        y[i].d = 1.f / iscale;
    }
}

}  // namespace moecpu::kernels::MOECPU_AVX512_NS
