// fp16 / bf16 conversions: literal edge cases (subnormals, overflow, inf, NaN, ties to even),
// exhaustive fp16 round trips, and on x86 with F16C a sweep against the hardware converter.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "quant/fp16.h"
#include "quant/quantize_ref.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define MOECPU_TEST_F16C 1
#endif

using namespace moecpu;

namespace {
float f_bits(uint32_t u) { return bits_to_f32(u); }
}  // namespace

TEST_CASE("fp32_to_fp16: literal edge cases", "[quant][fp16]") {
    struct Case { uint32_t f; uint16_t h; const char* what; };
    const Case cases[] = {
        {0x00000000u, 0x0000, "+0"},
        {0x80000000u, 0x8000, "-0"},
        {0x3F800000u, 0x3C00, "1"},
        {0xC0000000u, 0xC000, "-2"},
        {0x477FE000u, 0x7BFF, "65504 (max half)"},
        {0x477FEFFFu, 0x7BFF, "just below 65520 rounds down"},
        {0x477FF000u, 0x7C00, "65520 ties to even: inf"},
        {0x47800000u, 0x7C00, "65536 overflows"},
        {0x7F7FFFFFu, 0x7C00, "FLT_MAX overflows"},
        {0x7F800000u, 0x7C00, "+inf"},
        {0xFF800000u, 0xFC00, "-inf"},
        {0x38800000u, 0x0400, "2^-14 smallest normal"},
        {0x387FC000u, 0x03FF, "1023 * 2^-24 largest subnormal"},
        {0x387FE000u, 0x0400, "(1023.5) * 2^-24 ties to even: smallest normal"},
        {0x33800000u, 0x0001, "2^-24 smallest subnormal"},
        {0x33000000u, 0x0000, "2^-25 ties to even: 0"},
        {0x33000001u, 0x0001, "just above 2^-25 rounds up"},
        {0x33C00000u, 0x0002, "1.5 * 2^-24 ties to even: 2"},
        {0x34200000u, 0x0002, "2.5 * 2^-24 ties to even: 2"},
        {0x32FFFFFFu, 0x0000, "just below 2^-25: 0"},
        {0x00000001u, 0x0000, "fp32 subnormal: 0"},
        {0x80000001u, 0x8000, "negative fp32 subnormal: -0"},
        {0x3F801000u, 0x3C00, "1 + 2^-11 ties to even: 1"},
        {0x3F803000u, 0x3C02, "1 + 3 * 2^-11 ties to even: 1 + 2^-9"},
        {0x3F801001u, 0x3C01, "just above the tie rounds up"},
        {0x3F800FFFu, 0x3C00, "just below the tie rounds down"},
        {0x3FFFF000u, 0x4000, "mantissa carry into the exponent"},
        {0xB3800000u, 0x8001, "-2^-24"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(fp32_to_fp16(f_bits(c.f)) == c.h);
    }
    // NaN stays NaN (quiet bit set), sign kept, payload truncated as vcvtps2ph does.
    CHECK(fp32_to_fp16(f_bits(0x7FC00000u)) == 0x7E00);
    CHECK(fp32_to_fp16(f_bits(0xFFC00000u)) == 0xFE00);
    CHECK(fp32_to_fp16(f_bits(0x7F800001u)) == 0x7E00);  // signalling NaN with a tiny payload
    CHECK(fp32_to_fp16(f_bits(0x7FA02000u)) == 0x7F01);
}

TEST_CASE("fp16_to_fp32: literal values and exhaustive round trip", "[quant][fp16]") {
    CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(fp16_to_fp32(0x03FF) == 1023.0f * std::ldexp(1.0f, -24));
    CHECK(fp16_to_fp32(0x0400) == std::ldexp(1.0f, -14));
    CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
    CHECK(fp16_to_fp32(0x7C00) == INFINITY);
    CHECK(fp16_to_fp32(0xFC00) == -INFINITY);
    CHECK(std::signbit(fp16_to_fp32(0x8000)));
    CHECK(std::isnan(fp16_to_fp32(0x7E00)));
    CHECK(std::isnan(fp16_to_fp32(0x7C01)));
    int nan_count = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_fp32(uint16_t(h));
        if (std::isnan(f)) {
            ++nan_count;
            CHECK(((h >> 10) & 0x1F) == 0x1F);
            CHECK(std::isnan(fp16_to_fp32(fp32_to_fp16(f))));
            continue;
        }
        if (fp32_to_fp16(f) != h) FAIL("round trip of half 0x" << std::hex << h);
    }
    CHECK(nan_count == 2 * 1023);
    // Rows go through the same conversion.
    const float x[3] = {1.0f, -0.5f, 65520.0f};
    uint16_t h[3];
    float y[3];
    quantize_row_f16_ref(x, h, 3);
    dequantize_row_f16(h, y, 3);
    CHECK(h[0] == 0x3C00);
    CHECK(y[1] == -0.5f);
    CHECK(y[2] == INFINITY);
}

#if defined(MOECPU_TEST_F16C)
namespace {
// F16C is VEX-encoded: needs the CPU bit and the OS saving the AVX state (OSXSAVE, XCR0 bits 1-2).
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const bool f16c = ecx & (1u << 29), avx = ecx & (1u << 28), osxsave = ecx & (1u << 27);
    if (!(f16c && avx && osxsave)) return false;
    unsigned xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    return (xcr0_lo & 6u) == 6u;
}

__attribute__((target("f16c"))) uint16_t hw_fp32_to_fp16(float f) {
    return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_fp16_to_fp32(uint16_t h) { return _cvtsh_ss(h); }
}  // namespace

TEST_CASE("fp16 conversions agree with F16C", "[quant][fp16]") {
    if (!cpu_has_f16c()) {
        WARN("CPU has no F16C; literal tables above cover the conversions");
        return;
    }
    for (uint32_t h = 0; h < 65536; ++h) {
        const float a = fp16_to_fp32(uint16_t(h)), b = hw_fp16_to_fp32(uint16_t(h));
        if (std::memcmp(&a, &b, 4) != 0 && !(std::isnan(a) && std::isnan(b)))
            FAIL("fp16_to_fp32 0x" << std::hex << h);
    }
    // Every fp16 value, the midpoints between neighbours and one ulp either side, plus a coarse
    // sweep of all fp32 bit patterns (NaNs included).
    uint64_t mismatches = 0;
    auto check = [&](uint32_t u) {
        const float f = f_bits(u);
        if (fp32_to_fp16(f) != hw_fp32_to_fp16(f)) ++mismatches;
    };
    for (uint32_t h = 0; h < 0x7C00; ++h) {
        const uint32_t lo = f32_to_bits(fp16_to_fp32(uint16_t(h)));
        const uint32_t hi = f32_to_bits(h + 1 < 0x7C00 ? fp16_to_fp32(uint16_t(h + 1)) : 65536.0f);
        const uint32_t mid = f32_to_bits((bits_to_f32(lo) + bits_to_f32(hi)) * 0.5f);
        for (uint32_t u : {lo, lo + 1, mid - 1, mid, mid + 1, hi - 1}) {
            check(u);
            check(u | 0x80000000u);
        }
    }
    for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 4093) check(uint32_t(u));
    CHECK(mismatches == 0);
}
#endif

TEST_CASE("bf16 conversions: rounding, inf, NaN", "[quant][bf16]") {
    struct Case { uint32_t f; uint16_t h; const char* what; };
    const Case cases[] = {
        {0x3F800000u, 0x3F80, "1"},
        {0xBF800000u, 0xBF80, "-1"},
        {0x3F808000u, 0x3F80, "tie to even (down)"},
        {0x3F818000u, 0x3F82, "tie to even (up)"},
        {0x3F808001u, 0x3F81, "above the tie"},
        {0x3F807FFFu, 0x3F80, "below the tie"},
        {0x7F800000u, 0x7F80, "+inf"},
        {0xFF800000u, 0xFF80, "-inf"},
        {0x7F7FFFFFu, 0x7F80, "FLT_MAX rounds to inf"},
        {0x00008000u, 0x0000, "subnormal tie to even: 0"},
        {0x00018000u, 0x0002, "subnormal tie to even: up"},
        {0x80000000u, 0x8000, "-0"},
        {0x7FC00000u, 0x7FC0, "quiet NaN"},
        {0x7F800001u, 0x7FC0, "signalling NaN becomes quiet, not inf"},
        {0xFF800001u, 0xFFC0, "negative signalling NaN"},
        {0x7FFFFFFFu, 0x7FFF, "NaN with all payload bits"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        CHECK(fp32_to_bf16(f_bits(c.f)) == c.h);
    }
    CHECK(bf16_to_fp32(0x3F80) == 1.0f);
    CHECK(bf16_to_fp32(0x4049) == 3.140625f);
    CHECK(bf16_to_fp32(0x0001) == f_bits(0x00010000u));
    CHECK(std::isnan(bf16_to_fp32(0x7FC1)));
    // Exhaustive: every non-NaN bf16 survives a round trip.
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = bf16_to_fp32(uint16_t(h));
        if (std::isnan(f)) continue;
        if (fp32_to_bf16(f) != h) FAIL("bf16 round trip 0x" << std::hex << h);
    }
}
