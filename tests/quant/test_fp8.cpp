// Exhaustive check of the FP8 E4M3FN decoder against a table computed from the format definition.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "quant/fp8.h"

using namespace moecpu;

namespace {
// value = (-1)^s * 2^(e-7) * (1 + m/8) for e > 0, (-1)^s * 2^-6 * (m/8) for e == 0; S.1111.111 is NaN.
double e4m3_formula(int code) {
    const int s = (code >> 7) & 1, e = (code >> 3) & 15, m = code & 7;
    if (e == 15 && m == 7) return NAN;
    const double mag = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
    return s ? -mag : mag;
}
}  // namespace

TEST_CASE("fp8 e4m3fn: all 256 codes decode as the formula says", "[quant][fp8]") {
    int nan_count = 0;
    for (int c = 0; c < 256; ++c) {
        const float got = fp8_e4m3_to_fp32(uint8_t(c));
        const double want = e4m3_formula(c);
        INFO("code 0x" << std::hex << c);
        if (std::isnan(want)) {
            CHECK(std::isnan(got));
            ++nan_count;
            continue;
        }
        CHECK_FALSE(std::isinf(got));
        CHECK(double(got) == want);
        CHECK(std::signbit(got) == bool(c & 0x80));  // -0 stays -0
    }
    CHECK(nan_count == 2);
}

TEST_CASE("fp8 e4m3fn: landmark values", "[quant][fp8]") {
    CHECK(fp8_e4m3_to_fp32(0x00) == 0.0f);
    CHECK(std::signbit(fp8_e4m3_to_fp32(0x80)));
    CHECK(fp8_e4m3_to_fp32(0x38) == 1.0f);
    CHECK(fp8_e4m3_to_fp32(0xB8) == -1.0f);
    CHECK(fp8_e4m3_to_fp32(0x7E) == 448.0f);
    CHECK(fp8_e4m3_to_fp32(0xFE) == -448.0f);
    CHECK(fp8_e4m3_to_fp32(0x78) == 256.0f);      // exponent 15 is finite in e4m3fn
    CHECK(fp8_e4m3_to_fp32(0x01) == 0.001953125f); // smallest subnormal 2^-9
    CHECK(fp8_e4m3_to_fp32(0x07) == 0.013671875f); // largest subnormal 7 * 2^-9
    CHECK(fp8_e4m3_to_fp32(0x08) == 0.015625f);    // smallest normal 2^-6
    CHECK(std::isnan(fp8_e4m3_to_fp32(0x7F)));
    CHECK(std::isnan(fp8_e4m3_to_fp32(0xFF)));
    uint8_t row[4] = {0x38, 0x40, 0xC8, 0x00};
    float out[4];
    fp8_e4m3_to_fp32_row(row, out, 4);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 2.0f);
    CHECK(out[2] == -4.0f);
    CHECK(out[3] == 0.0f);
}
