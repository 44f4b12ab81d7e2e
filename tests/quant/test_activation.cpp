// The activation quantizers the kernels rely on (Q8_0, Q8_1, Q8_K) follow ggml exactly:
// rounding mode, scale sign, sums. Inputs are chosen so every expected value is exact.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/block_formats.h"
#include "quant/quantize_ref.h"

using namespace moecpu;

TEST_CASE("quantize_row_q8_0_ref: d = amax/127 in fp16, q = roundf (halves away from zero)", "[quant][activation]") {
    std::vector<float> x(64, 0.f);
    x[0] = 127.f; x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.49f; x[4] = -127.f;   // d = 1
    x[32] = 0.9921875f;                                                       // d = 2^-7, 1/d = 128
    x[33] = 0.25f; x[34] = 0.01171875f; x[35] = -0.01171875f; x[36] = 0.00390625f;
    block_q8_0 y[2];
    quantize_row_q8_0_ref(x.data(), y, 64);
    CHECK(y[0].d == 0x3C00);
    const int8_t q0[5] = {127, 3, -3, 0, -127};
    for (int j = 0; j < 5; ++j) CHECK(y[0].qs[j] == q0[j]);
    for (int j = 5; j < 32; ++j) CHECK(y[0].qs[j] == 0);
    CHECK(y[1].d == 0x2000);
    const int8_t q1[5] = {127, 32, 2, -2, 1};  // 1.5 -> 2, -1.5 -> -2, 0.5 -> 1
    for (int j = 0; j < 5; ++j) CHECK(y[1].qs[j] == q1[j]);
}

TEST_CASE("quantize_row_q8_1_ref: s = fp16(d * sum(q)) with the fp32 d", "[quant][activation]") {
    std::vector<float> x(64, 0.f);
    x[0] = 127.f; x[1] = 2.5f; x[2] = 1.f;                                  // q 127 3 1, sum 131
    x[32] = 0.9921875f; x[33] = 0.25f; x[34] = 0.01171875f;                 // q 127 32 2, sum 161
    block_q8_1 y[2];
    quantize_row_q8_1_ref(x.data(), y, 64);
    CHECK(y[0].d == 0x3C00);
    CHECK(y[0].s == 0x5818);  // 131
    CHECK(y[0].qs[1] == 3);
    CHECK(y[1].d == 0x2000);
    CHECK(y[1].s == 0x3D08);  // 161 / 128 = 1.2578125
    CHECK(y[1].qs[1] == 32);
    CHECK(y[1].qs[2] == 2);
}

TEST_CASE("quantize_row_q8_K_ref: the max-magnitude element maps to -127, ties to even, bsums", "[quant][activation]") {
    std::vector<float> x(3 * 256, 0.f);
    // Block 0: max = -127 (negative), iscale = 1, d = 1.
    x[0] = -127.f; x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.5f; x[4] = 3.5f; x[16] = 127.f;
    // Block 1: max = +4 (first of +4 / -4), iscale = -31.75, d = -1/31.75.
    x[256] = 4.f; x[257] = -4.f; x[258] = 2.f; x[259] = -2.f; x[511] = 0.0001f;
    // Block 2: all zero.
    block_q8_K y[3];
    std::memset(y, 0x5A, sizeof y);
    quantize_row_q8_K_ref(x.data(), y, 3 * 256);

    CHECK(y[0].d == 1.0f);
    const int8_t q0[5] = {-127, 2, -2, 0, 4};  // nearest, ties to even
    for (int j = 0; j < 5; ++j) CHECK(y[0].qs[j] == q0[j]);
    CHECK(y[0].qs[16] == 127);
    CHECK(y[0].bsums[0] == -123);
    CHECK(y[0].bsums[1] == 127);
    for (int k = 2; k < 16; ++k) CHECK(y[0].bsums[k] == 0);

    CHECK(y[1].d == 1.0f / -31.75f);
    CHECK(y[1].d < 0.0f);
    CHECK(y[1].qs[0] == -127);
    CHECK(y[1].qs[1] == 127);
    CHECK(y[1].qs[2] == -64);  // -63.5 -> -64
    CHECK(y[1].qs[3] == 64);   //  63.5 ->  64
    CHECK(y[1].qs[255] == 0);
    CHECK(y[1].bsums[0] == 0);

    CHECK(y[2].d == 0.0f);
    for (int j = 0; j < 256; ++j) CHECK(y[2].qs[j] == 0);
    for (int k = 0; k < 16; ++k) CHECK(y[2].bsums[k] == 0);

    // Dequantizing gives back d * q.
    std::vector<float> back(3 * 256);
    dequantize_row_q8_K(y, back.data(), 3 * 256);
    CHECK(back[0] == -127.0f);
    CHECK(back[256] == 4.0f);
    CHECK(back[257] == -4.0f);
}

TEST_CASE("Q8_K bsums equal the sums of qs on arbitrary data", "[quant][activation]") {
    std::vector<float> x(4 * 256);
    uint32_t s = 12345;
    for (auto& v : x) {
        s = s * 1664525u + 1013904223u;
        v = float(int32_t(s >> 8) - (1 << 23)) / float(1 << 20);
    }
    std::vector<block_q8_K> y(4);
    quantize_row_q8_K_ref(x.data(), y.data(), int64_t(x.size()));
    for (const block_q8_K& b : y) {
        for (int k = 0; k < 16; ++k) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += b.qs[16 * k + l];
            CHECK(b.bsums[k] == sum);
        }
    }
}
