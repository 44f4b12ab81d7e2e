// Intrinsics SIMDe 0.7.4 lacks, written for the SIMDe test build only (each one found missing by
// compiling the kernels with MOECPU_AVX512_VIA_SIMDE). Without these, the name would fall through
// to GCC's real AVX-512 intrinsic and fail to compile with AVX2 flags.
#pragma once

// Horizontal sums and maxima halve the vector as GCC's own reductions do, so the rounding of the
// emulated and the native builds agree.
static inline float moecpu_simde_reduce_add_ps(simde__m512 v) {
    float lane[16];
    simde_mm512_storeu_ps(lane, v);
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; ++i) lane[i] = lane[i] + lane[i + width];
    return lane[0];
}

static inline float moecpu_simde_reduce_max_ps(simde__m512 v) {
    float lane[16];
    simde_mm512_storeu_ps(lane, v);
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; ++i) lane[i] = lane[i] > lane[i + width] ? lane[i] : lane[i + width];
    return lane[0];
}

#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps(v) moecpu_simde_reduce_add_ps(v)
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps(v) moecpu_simde_reduce_max_ps(v)

// 512-bit values as two 256-bit halves (SIMDe runs each half on AVX2).
static inline simde__m256i moecpu_simde_low_half(simde__m512i v) { return simde_mm512_castsi512_si256(v); }
static inline simde__m256i moecpu_simde_high_half(simde__m512i v) { return simde_mm512_extracti64x4_epi64(v, 1); }
static inline simde__m512i moecpu_simde_join(simde__m256i low, simde__m256i high) {
    return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(low), high, 1);
}
static inline simde__m256 moecpu_simde_low_half_ps(simde__m512 v) { return simde_mm512_castps512_ps256(v); }
static inline simde__m256 moecpu_simde_high_half_ps(simde__m512 v) {
    return simde_mm256_castsi256_ps(moecpu_simde_high_half(simde_mm512_castps_si512(v)));
}
static inline simde__m512 moecpu_simde_join_ps(simde__m256 low, simde__m256 high) {
    return simde_mm512_castsi512_ps(moecpu_simde_join(simde_mm256_castps_si256(low), simde_mm256_castps_si256(high)));
}

static inline simde__m512 moecpu_simde_cvtepi32_ps(simde__m512i v) {
    return moecpu_simde_join_ps(simde_mm256_cvtepi32_ps(moecpu_simde_low_half(v)),
                                simde_mm256_cvtepi32_ps(moecpu_simde_high_half(v)));
}
static inline simde__m512i moecpu_simde_cvtps_epi32(simde__m512 v) {
    return moecpu_simde_join(simde_mm256_cvtps_epi32(moecpu_simde_low_half_ps(v)),
                             simde_mm256_cvtps_epi32(moecpu_simde_high_half_ps(v)));
}
static inline simde__m512i moecpu_simde_cvttps_epi32(simde__m512 v) {
    return moecpu_simde_join(simde_mm256_cvttps_epi32(moecpu_simde_low_half_ps(v)),
                             simde_mm256_cvttps_epi32(moecpu_simde_high_half_ps(v)));
}
static inline simde__m512i moecpu_simde_cvtepu16_epi32(simde__m256i v) {
    return moecpu_simde_join(simde_mm256_cvtepu16_epi32(simde_mm256_castsi256_si128(v)),
                             simde_mm256_cvtepu16_epi32(simde_mm256_extracti128_si256(v, 1)));
}
static inline simde__m512 moecpu_simde_cvtph_ps(simde__m256i v) {
    return moecpu_simde_join_ps(simde_mm256_cvtph_ps(simde_mm256_castsi256_si128(v)),
                                simde_mm256_cvtph_ps(simde_mm256_extracti128_si256(v, 1)));
}
static inline simde__m512i moecpu_simde_zextsi256_si512(simde__m256i v) {
    return moecpu_simde_join(v, simde_mm256_setzero_si256());
}

// vpmovdb: keeps the low byte of each 32-bit lane.
static inline simde__m128i moecpu_simde_cvtepi32_epi8(simde__m512i v) {
    int32_t wide[16];
    int8_t narrow[16];
    simde_mm512_storeu_si512(wide, v);
    for (int i = 0; i < 16; ++i) narrow[i] = static_cast<int8_t>(wide[i]);
    return simde_mm_loadu_si128(narrow);
}

static inline int moecpu_simde_reduce_add_epi32(simde__m512i v) {
    int32_t lane[16];
    simde_mm512_storeu_si512(lane, v);
    uint32_t sum = 0;  // wraps like the hardware
    for (int i = 0; i < 16; ++i) sum += static_cast<uint32_t>(lane[i]);
    return static_cast<int>(sum);
}

static inline simde__m512 moecpu_simde_mask3_fmadd_ps(simde__m512 a, simde__m512 b, simde__m512 c, simde__mmask16 k) {
    return simde_mm512_mask_mov_ps(c, k, simde_mm512_fmadd_ps(a, b, c));
}

// Masked loads touch only the selected elements (a full load could run past the buffer).
static inline simde__m512 moecpu_simde_maskz_loadu_ps(simde__mmask16 k, const void* p) {
    float lane[16] = {};
    for (int i = 0; i < 16; ++i)
        if ((k >> i) & 1) lane[i] = static_cast<const float*>(p)[i];
    return simde_mm512_loadu_ps(lane);
}
static inline simde__m256i moecpu_simde_maskz_loadu_epi16(simde__mmask16 k, const void* p) {
    uint16_t lane[16] = {};
    for (int i = 0; i < 16; ++i)
        if ((k >> i) & 1) lane[i] = static_cast<const uint16_t*>(p)[i];
    return simde_mm256_loadu_si256(lane);
}

#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(v) moecpu_simde_cvtepi32_ps(v)
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(v) moecpu_simde_cvtps_epi32(v)
#undef _mm512_cvttps_epi32
#define _mm512_cvttps_epi32(v) moecpu_simde_cvttps_epi32(v)
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32(v) moecpu_simde_cvtepu16_epi32(v)
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps(v) moecpu_simde_cvtph_ps(v)
#undef _mm512_zextsi256_si512
#define _mm512_zextsi256_si512(v) moecpu_simde_zextsi256_si512(v)
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(v) moecpu_simde_cvtepi32_epi8(v)
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32(v) moecpu_simde_reduce_add_epi32(v)
#undef _mm512_mask3_fmadd_ps
#define _mm512_mask3_fmadd_ps(a, b, c, k) moecpu_simde_mask3_fmadd_ps(a, b, c, k)
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) moecpu_simde_maskz_loadu_ps(k, p)
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16(k, p) moecpu_simde_maskz_loadu_epi16(k, p)
// SIMDe has this one but no native alias for it.
#undef _mm512_shuffle_i64x2
#define _mm512_shuffle_i64x2(a, b, imm) simde_mm512_shuffle_i64x2(a, b, imm)

// Q2_K tile (q2k_scaled_digits_avx512.h): the upper half of the result is zero.
static inline simde__m512 moecpu_simde_zextps256_ps512(simde__m256 v) {
    return moecpu_simde_join_ps(v, simde_mm256_setzero_ps());
}
#undef _mm512_zextps256_ps512
#define _mm512_zextps256_ps512(v) moecpu_simde_zextps256_ps512(v)

// Q3_K batched tile (q3k_gemm_avx512.h): the block's tail bytes through a masked load (touching
// only the selected bytes, as the hardware does), and the d halves out of their dwords.
static inline simde__m512i moecpu_simde_maskz_loadu_epi8(simde__mmask64 k, const void* p) {
    uint8_t lane[64] = {};
    for (int i = 0; i < 64; ++i)
        if ((k >> i) & 1) lane[i] = static_cast<const uint8_t*>(p)[i];
    return simde_mm512_loadu_si512(lane);
}
static inline simde__m256i moecpu_simde_cvtepi32_epi16(simde__m512i v) {
    int32_t wide[16];
    int16_t narrow[16];
    simde_mm512_storeu_si512(wide, v);
    for (int i = 0; i < 16; ++i) narrow[i] = static_cast<int16_t>(wide[i]);
    return simde_mm256_loadu_si256(narrow);
}
#undef _mm512_maskz_loadu_epi8
#define _mm512_maskz_loadu_epi8(k, p) moecpu_simde_maskz_loadu_epi8(k, p)
#undef _mm512_cvtepi32_epi16
#define _mm512_cvtepi32_epi16(v) moecpu_simde_cvtepi32_epi16(v)

// vpmulld keeps the low 32 bits of each product, which kernels rely on (Q3_K's scale tables wrap
// on purpose); SIMDe multiplies as signed int, undefined on overflow (UBSan reports it), so the
// test build multiplies as unsigned, which wraps as the instruction does.
static inline simde__m512i moecpu_simde_mullo_epi32(simde__m512i a, simde__m512i b) {
    uint32_t x[16], y[16];
    simde_mm512_storeu_si512(x, a);
    simde_mm512_storeu_si512(y, b);
    for (int i = 0; i < 16; ++i) x[i] *= y[i];
    return simde_mm512_loadu_si512(x);
}
#undef _mm512_mullo_epi32
#define _mm512_mullo_epi32(a, b) moecpu_simde_mullo_epi32(a, b)
