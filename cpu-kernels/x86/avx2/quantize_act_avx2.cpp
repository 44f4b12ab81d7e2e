// Activation quantization (f32 row → Q8_0 / Q8_1 / Q8_K blocks) with AVX2. Produces the same
// blocks as the scalar reference (quant/quantize_ref.h): same scale arithmetic in fp32, same
// rounding (round-half-away for Q8_0/Q8_1 as roundf, half-to-even for Q8_K as ggml's nearest_int).
#include "cpu-kernels/x86/avx2/avx2_common.h"
#include "cpu-kernels/x86/avx2/kernels_avx2.h"
#include "quant/block_formats.h"

namespace moecpu::kernels::avx2 {
namespace {

__m256 abs_ps(__m256 v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))); }

float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// roundf semantics (halfway cases away from zero), exact for |v| < 2^23.
__m256i round_half_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
    const __m256 need = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one_signed = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), v));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(need, one_signed)));
}

// Four vectors of eight int32 (each within int8 range) → 32 int8 in element order.
__m256i pack_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b);
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);
    // packs work per 128-bit lane: restore the order of the 4-byte groups.
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Quantizes 32 floats with multiplier `id` and stores 32 int8; returns their sum.
int quantize32_half_away(const float* x, float id, int8_t* out) {
    const __m256 m = _mm256_set1_ps(id);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = round_half_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * j), m));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), pack_to_i8(q[0], q[1], q[2], q[3]));
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
    return _mm_cvtsi128_si32(s4);
}

float block_amax32(const float* x) {
    __m256 m = abs_ps(_mm256_loadu_ps(x));
    for (int j = 1; j < 4; ++j) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + 8 * j)));
    return hmax(m);
}

}  // namespace

void quantize_act_q8_0(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_0*>(vy);
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        const float d = block_amax32(x) / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
        quantize32_half_away(x, id, y[i].qs);
    }
}

void quantize_act_q8_1(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_1*>(vy);
    for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
        const float d = block_amax32(x) / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
        const int sum = quantize32_half_away(x, id, y[i].qs);
        y[i].s = static_cast<uint16_t>(_cvtss_sh(float(sum) * d, _MM_FROUND_TO_NEAREST_INT));
    }
}

void quantize_act_q8_K(const float* x, void* vy, int64_t n) {
    auto* y = static_cast<block_q8_K*>(vy);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        __m256 vmax = abs_ps(_mm256_loadu_ps(x));
        for (int j = 8; j < QK_K; j += 8) vmax = _mm256_max_ps(vmax, abs_ps(_mm256_loadu_ps(x + j)));
        const float amax = hmax(vmax);
        if (amax == 0.f) {
            y[i].d = 0.f;
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].bsums), _mm256_setzero_si256());
            for (int j = 0; j < QK_K; j += 32)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), _mm256_setzero_si256());
            continue;
        }
        // The reference keeps the signed value of the first element of largest magnitude.
        float max = 0.f;
        for (int j = 0; j < QK_K; ++j) {
            if (__builtin_fabsf(x[j]) == amax) { max = x[j]; break; }
        }
        const float iscale = -127.f / max;
        const __m256 m = _mm256_set1_ps(iscale);
        const __m256i limit = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i q[4];
            // cvtps rounds half to even under the default MXCSR mode, as nearest_int does.
            for (int t = 0; t < 4; ++t)
                q[t] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * t), m)), limit);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), pack_to_i8(q[0], q[1], q[2], q[3]));
            const __m256i s01 = _mm256_add_epi32(q[0], q[1]);  // elements j .. j+15
            const __m256i s23 = _mm256_add_epi32(q[2], q[3]);  // elements j+16 .. j+31
            // Horizontal sums of both halves at once.
            __m256i h = _mm256_hadd_epi32(s01, s23);  // per lane: [s01 pairs, s23 pairs]
            h = _mm256_hadd_epi32(h, h);
            const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            y[i].bsums[j / 16] = static_cast<int16_t>(_mm_cvtsi128_si32(sums));
            y[i].bsums[j / 16 + 1] = static_cast<int16_t>(_mm_extract_epi32(sums, 1));
        }
        y[i].d = 1.f / iscale;
    }
}

}  // namespace moecpu::kernels::avx2
