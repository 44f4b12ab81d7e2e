// Scalar IEEE half and bfloat16 conversions (the portable reference; SIMD kernels use F16C/NEON).
#pragma once
#include <cstdint>
#include <cstring>

namespace moecpu {

inline float bits_to_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t f32_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// Exact for every half value, subnormals, infinities and NaN included.
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t man = h & 0x3FFu;
    if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return bits_to_f32(sign);
        // subnormal: value = man * 2^-24
        float v = float(man) * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

// Round to nearest even, overflow to infinity, NaN kept quiet (same results as F16C's vcvtps2ph).
inline uint16_t fp32_to_fp16(float f) {
    const uint32_t x = f32_to_bits(f);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return uint16_t(sign | 0x7C00u | (ax > 0x7F800000u ? (0x200u | ((ax >> 13) & 0x3FFu)) : 0u));
    if (ax >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // rounds to >= 65520 → inf
    if (ax < 0x38800000u) {  // result is subnormal or zero
        // value / 2^-24, rounded to nearest even
        const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
        const int e = int(ax >> 23);
        const int shift = 126 - e;  // m * 2^(e-150) / 2^-24 = m >> (126 - e)
        if (shift > 24) return sign;
        uint32_t q = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) ++q;
        return uint16_t(sign | q);
    }
    uint32_t r = ax - 0x38000000u;  // rebias exponent 127 → 15
    r += 0xFFFu + ((r >> 13) & 1u);
    return uint16_t(sign | (r >> 13));
}

inline float bf16_to_fp32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }

// Round to nearest even; NaN stays NaN (as ggml_compute_fp32_to_bf16).
inline uint16_t fp32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 64u);
    return uint16_t((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

}  // namespace moecpu
