// The NEON intrinsics and the few primitives every NEON kernel file shares.
//
// On aarch64 this is <arm_neon.h>. With MOECPU_NEON_VIA_SIMDE the same kernel sources compile on
// x86 through SIMDe's portable NEON (tests/cpu-kernels-neon), so every native test run checks the
// NEON code too; that build renames its namespace and table getters to stay apart from the real
// ones. Everything defined here is `static`: the *_dotprod.cpp files include it with extra ISA
// flags and must not emit shared (COMDAT) copies of anything.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(MOECPU_NEON_VIA_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#include "quant/fp16.h"  // x86 build with baseline flags: sharing these inline helpers is fine
#define MOECPU_NEON_NS neon_simde
#else
#include <arm_neon.h>
#define MOECPU_NEON_NS neon
#endif

namespace moecpu::kernels::MOECPU_NEON_NS {

// IEEE half <-> float, scalar. AArch64 converts with one fcvt (round to nearest even, the same
// results as the reference in quant/fp16.h).
static inline float half_to_float(uint16_t h) {
#if defined(MOECPU_NEON_VIA_SIMDE)
    return moecpu::fp16_to_fp32(h);
#else
    __fp16 v;
    std::memcpy(&v, &h, sizeof v);
    return float(v);
#endif
}

static inline uint16_t float_to_half(float f) {
#if defined(MOECPU_NEON_VIA_SIMDE)
    return moecpu::fp32_to_fp16(f);
#else
    const __fp16 v = f;
    uint16_t h;
    std::memcpy(&h, &v, sizeof h);
    return h;
#endif
}

static inline float bf16_to_float(uint16_t h) {
    const uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Four halves (raw bits) → four floats.
static inline float32x4_t halves_to_floats(uint16x4_t h) {
#if defined(MOECPU_NEON_VIA_SIMDE)
    // SIMDe 0.7 has no fp16 vector conversion; the scalar reference is exact.
    uint16_t raw[4];
    vst1_u16(raw, h);
    float f[4];
    for (int i = 0; i < 4; ++i) f[i] = moecpu::fp16_to_fp32(raw[i]);
    return vld1q_f32(f);
#else
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
#endif
}

// Round to nearest, ties away from zero (std::round), as the Q8_0 / Q8_1 reference quantizer.
static inline int32x4_t round_away_to_s32(float32x4_t x) {
#if defined(MOECPU_NEON_VIA_SIMDE)
    float f[4];
    vst1q_f32(f, x);
    int32_t r[4];
    for (int i = 0; i < 4; ++i) r[i] = int32_t(__builtin_roundf(f[i]));
    return vld1q_s32(r);
#else
    return vcvtaq_s32_f32(x);
#endif
}

// Round to nearest, ties to even (ggml's nearest_int), as the Q8_K reference quantizer.
static inline int32x4_t round_even_to_s32(float32x4_t x) {
#if defined(MOECPU_NEON_VIA_SIMDE)
    return vcvtq_s32_f32(vrndnq_f32(x));
#else
    return vcvtnq_s32_f32(x);
#endif
}

// acc[i] += a[4i]*b[4i] + ... + a[4i+3]*b[4i+3], the semantics of the armv8.2 `sdot`.
// Without dotprod: widening multiplies, then pairwise adds. A pair of products stays inside
// int16 because activations are in [-127, 127] and weights in [-128, 127].
static inline int32x4_t dot_i8(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(MOECPU_NEON_USE_SDOT)
    return vdotq_s32(acc, a, b);
#else
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vpadalq_s16(acc, vpaddq_s16(lo, hi));
#endif
}

// Lane i of the result = sum of all lanes of v[i] (four horizontal sums at once).
static inline int32x4_t transpose_sum4(int32x4_t v0, int32x4_t v1, int32x4_t v2, int32x4_t v3) {
    return vpaddq_s32(vpaddq_s32(v0, v1), vpaddq_s32(v2, v3));
}

}  // namespace moecpu::kernels::MOECPU_NEON_NS
