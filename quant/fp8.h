// FP8 E4M3 ("e4m3fn", the format of DeepSeek-V3 / R1 FP8 checkpoints, safetensors dtype F8_E4M3).
// Layout: 1 sign bit, 4 exponent bits (bias 7), 3 mantissa bits. There are no infinities: only
// S.1111.111 (0x7F / 0xFF) is NaN, so exponent 15 with mantissa 0..6 is an ordinary number and the
// largest finite magnitude is 0x7E = 1.75 * 2^8 = 448. Exponent 0 is subnormal: man/8 * 2^-6.
#pragma once
#include <cstdint>
#include <cstring>

namespace moecpu {

// Exact decode of one E4M3FN code (every code is exactly representable in fp32).
inline float fp8_e4m3_to_fp32(uint8_t v) {
    const uint32_t sign = uint32_t(v & 0x80u) << 24;
    const uint32_t exp = (v >> 3) & 0xFu;
    const uint32_t man = v & 0x7u;
    uint32_t bits;
    if (exp == 0xFu && man == 0x7u) {
        bits = sign | 0x7FC00000u;  // NaN (quiet), sign kept
    } else if (exp == 0) {
        // subnormal or zero: man * 2^-9, exact in fp32
        const float f = float(man) * (1.0f / 512.0f);
        std::memcpy(&bits, &f, 4);
        bits |= sign;
    } else {
        bits = sign | ((exp + 120u) << 23) | (man << 20);  // rebias 7 -> 127
    }
    float out;
    std::memcpy(&out, &bits, 4);
    return out;
}

// Decode n codes into floats (convenience for the converter).
inline void fp8_e4m3_to_fp32_row(const uint8_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = fp8_e4m3_to_fp32(src[i]);
}

}  // namespace moecpu
