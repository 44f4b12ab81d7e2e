// Golden blocks: bytes written by hand at the offsets of ggml's published layouts
// (ggml-common.h), expected values worked out by hand from the format definitions. Nothing here
// uses our quantizers or block structs to build the input, so these pin the bit layouts alone.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "quant/ggml_types.h"
#include "quant/quantize_ref.h"
#include "quant/type_traits.h"

using namespace moecpu;

namespace {

// fp16 constants, little-endian in the block.
constexpr uint16_t H_1 = 0x3C00, H_2 = 0x4000, H_0_5 = 0x3800, H_0_25 = 0x3400, H_M1 = 0xBC00;

void put16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
    b[off] = uint8_t(v & 0xFF);
    b[off + 1] = uint8_t(v >> 8);
}

std::vector<float> decode(GgmlType t, const std::vector<uint8_t>& raw) {
    const TypeTraits& tr = traits_of(t);
    REQUIRE(raw.size() == tr.type_size);
    REQUIRE(tr.to_float != nullptr);
    std::vector<float> y(size_t(tr.block_size), -12345.f);
    tr.to_float(raw.data(), y.data(), tr.block_size);
    return y;
}

void check_all(const std::vector<float>& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("element " << i);
        CHECK(got[i] == want[i]);
    }
}

struct Range {
    int begin, end;
    float value;
};

// Every element: `rest`, overridden by `ranges` (in order), then by the (index, value) points.
void check_expected(const std::vector<float>& got, float rest, const std::vector<Range>& ranges,
                    const std::vector<std::pair<int, float>>& points) {
    std::vector<float> want(got.size(), rest);
    for (const Range& r : ranges)
        for (int i = r.begin; i < r.end; ++i) want[size_t(i)] = r.value;
    for (auto [i, v] : points) want[size_t(i)] = v;
    check_all(got, want);
}

}  // namespace

TEST_CASE("golden q4_0: d=0.5, x = d*(q-8), low nibbles elements 0..15, high 16..31", "[quant][golden]") {
    std::vector<uint8_t> b(18, 0);
    put16(b, 0, H_0_5);
    for (int j = 0; j < 16; ++j) b[size_t(2 + j)] = uint8_t(j | ((15 - j) << 4));
    check_all(decode(GgmlType::Q4_0, b),
              {-4.f, -3.5f, -3.f, -2.5f, -2.f, -1.5f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 1.5f, 2.f, 2.5f, 3.f, 3.5f,
               3.5f, 3.f, 2.5f, 2.f, 1.5f, 1.f, 0.5f, 0.f, -0.5f, -1.f, -1.5f, -2.f, -2.5f, -3.f, -3.5f, -4.f});
}

TEST_CASE("golden q4_1: d=0.25 m=-1, x = d*q + m", "[quant][golden]") {
    std::vector<uint8_t> b(20, 0);
    put16(b, 0, H_0_25);
    put16(b, 2, H_M1);
    b[4 + 0] = 0x0F;  // elem 0: 15 -> 2.75, elem 16: 0 -> -1
    b[4 + 1] = 0xA5;  // elem 1: 5 -> 0.25,  elem 17: 10 -> 1.5
    b[4 + 15] = 0x80; // elem 15: 0 -> -1,   elem 31: 8 -> 1
    std::vector<float> want(32, -1.f);
    want[0] = 2.75f; want[1] = 0.25f; want[17] = 1.5f; want[31] = 1.f;
    check_all(decode(GgmlType::Q4_1, b), want);
}

TEST_CASE("golden q5_0: d=1, x = d*(q-16), fifth bit of element j = bit j of qh (LE)", "[quant][golden]") {
    std::vector<uint8_t> b(22, 0);
    put16(b, 0, H_1);
    b[2] = 0x01; b[3] = 0x00; b[4] = 0x02; b[5] = 0x80;  // qh bits 0, 17, 31
    b[6 + 0] = 0x3F;   // elem 0: 15|16=31 -> 15,  elem 16: 3 -> -13
    b[6 + 1] = 0x21;   // elem 1: 1 -> -15,        elem 17: 2|16=18 -> 2
    b[6 + 15] = 0xF0;  // elem 15: 0 -> -16,       elem 31: 15|16=31 -> 15
    std::vector<float> want(32, -16.f);
    want[0] = 15.f; want[16] = -13.f; want[1] = -15.f; want[17] = 2.f; want[31] = 15.f;
    check_all(decode(GgmlType::Q5_0, b), want);
}

TEST_CASE("golden q5_1: d=0.5 m=0.25, x = d*q + m", "[quant][golden]") {
    std::vector<uint8_t> b(24, 0);
    put16(b, 0, H_0_5);
    put16(b, 2, H_0_25);
    b[4] = 0x00; b[5] = 0x80; b[6] = 0x01; b[7] = 0x00;  // qh bits 15, 16
    b[8 + 15] = 0x12;  // elem 15: 2|16=18 -> 9.25, elem 31: 1 -> 0.75
    std::vector<float> want(32, 0.25f);
    want[15] = 9.25f; want[31] = 0.75f; want[16] = 8.25f;  // elem 16: 0|16 -> 8.25
    check_all(decode(GgmlType::Q5_1, b), want);
}

TEST_CASE("golden q8_0: d=0.25, x = d*q", "[quant][golden]") {
    std::vector<uint8_t> b(34, 0);
    put16(b, 0, H_0_25);
    b[2 + 0] = 0x80;  // -128
    b[2 + 1] = 0x7F;  // 127
    b[2 + 2] = 0xFF;  // -1
    b[2 + 31] = 5;
    std::vector<float> want(32, 0.f);
    want[0] = -32.f; want[1] = 31.75f; want[2] = -0.25f; want[31] = 1.25f;
    check_all(decode(GgmlType::Q8_0, b), want);
}

TEST_CASE("golden q8_1: d=2 (s is not used to decode), x = d*q", "[quant][golden]") {
    std::vector<uint8_t> b(36, 0);
    put16(b, 0, H_2);
    put16(b, 2, H_1);
    b[4 + 3] = uint8_t(-7);
    std::vector<float> want(32, 0.f);
    want[3] = -14.f;
    check_all(decode(GgmlType::Q8_1, b), want);
}

TEST_CASE("golden q8_K: fp32 d=-0.5, x = d*q", "[quant][golden]") {
    std::vector<uint8_t> b(292, 0);
    const float d = -0.5f;
    std::memcpy(b.data(), &d, 4);
    b[4 + 0] = 10;
    b[4 + 255] = 0x80;          // -128
    b[4 + 256] = 0x7B;          // bsums[0] = 123: not used to decode
    std::vector<float> want(256, 0.f);
    want[0] = -5.f; want[255] = 64.f;
    check_all(decode(GgmlType::Q8_K, b), want);
}

// Q2_K: scales[16] @0, qs[64] @16, d @80, dmin @82. x = d*(sc&15)*q - dmin*(sc>>4);
// element e: q = bits 2s of qs[32h + l] with h = e/128, s = (e%128)/32, l = e%32.
TEST_CASE("golden q2_K", "[quant][golden]") {
    std::vector<uint8_t> b(84, 0);
    put16(b, 80, H_1);
    put16(b, 82, H_0_5);
    b[0] = 0x21;   // sub 0: sc 1, m 2 -> q - 1
    b[1] = 0x03;   // sub 1: sc 3, m 0 -> 3q
    b[5] = 0x12;   // sub 5: sc 2, m 1 -> 2q - 0.5
    b[15] = 0x4F;  // sub 15: sc 15, m 4 -> 15q - 2
    b[16 + 0] = 0x03;   // e0 q3
    b[16 + 1] = 0x02;   // e1 q2
    b[16 + 16] = 0x21;  // e16 q1 (bits 0-1), e80 q2 (bits 4-5)
    b[16 + 17] = 0x03;  // e17 q3
    b[16 + 48] = 0xC0;  // e240 q3 (h1 s3 l16)
    b[16 + 63] = 0x40;  // e255 q1 (h1 s3 l31)
    const auto y = decode(GgmlType::Q2_K, b);
    // q = 0 everywhere else: sub 0 -> -1, sub 5 -> -0.5, sub 15 -> -2, the rest 0.
    check_expected(y, 0.f, {{0, 16, -1.f}, {80, 96, -0.5f}, {240, 256, -2.f}},
                   {{0, 2.f}, {1, 1.f}, {16, 3.f}, {17, 9.f}, {80, 3.5f}, {240, 43.f}, {255, 13.f}});
}

// Q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108. x = d*(s-32)*(q - 4*!hbit), hbit of
// element e = bit e/32 of hmask[e%32]; scales: low nibble of s_j in byte j (j<8) or high
// nibble of byte j-8, top two bits at bits 2(j/4) of byte 8 + j%4.
TEST_CASE("golden q3_K", "[quant][golden]") {
    std::vector<uint8_t> b(110, 0);
    put16(b, 108, H_1);
    // s0 = +1 (33: lo 1 hi 2), s1 = -2 (30: lo 14 hi 1), s9 = +3 (35: lo 3 hi 2),
    // s15 = -32 (0: lo 0 hi 0), every other s = 0 (32: lo 0 hi 2).
    const uint8_t scales[12] = {0x01, 0x3E, 0, 0, 0, 0, 0, 0, 0xAA, 0xA9, 0xAA, 0x2A};
    std::memcpy(&b[96], scales, 12);
    b[0] = 0x01;    // hbit e0
    b[17] = 0x01;   // hbit e17
    b[16] = 0x10;   // hbit e144 (bit 144/32 = 4 of hmask[16])
    b[32 + 0] = 0x03;   // e0 low q3
    b[32 + 16] = 0x02;  // e16 low q2
    b[32 + 48] = 0x01;  // e144 low q1 (h1 s0 l16)
    b[32 + 63] = 0xC0;  // e255 low q3 (h1 s3 l31)
    const auto y = decode(GgmlType::Q3_K, b);
    // Elsewhere q = 0 - 4: sub 0 -> -4, sub 1 -> 8, sub 9 -> -12, sub 15 -> 128, s = 0 -> 0.
    check_expected(y, 0.f, {{0, 16, -4.f}, {16, 32, 8.f}, {144, 160, -12.f}, {240, 256, 128.f}},
                   {{0, 3.f},      // s 1, q 3 + hbit
                    {16, 4.f},     // s -2, q 2 - 4
                    {17, 0.f},     // s -2, q 0 + hbit
                    {144, 3.f},    // s 3, q 1 + hbit
                    {255, 32.f}}); // s -32, q 3 - 4
}

namespace {
// Q4_K / Q5_K scales: sub 0 (sc 2, m 4), sub 1 (sc 1, m 0), sub 4 (sc 63, m 1),
// sub 7 (sc 17, m 35), all others 0; packed as get_scale_min_k4 reads them.
const uint8_t kK4Scales[12] = {0xC2, 0x01, 0x00, 0x40, 0x04, 0x00, 0x00, 0x80, 0x1F, 0x00, 0x00, 0x31};
}  // namespace

// Q4_K: d @0, dmin @2, scales @4, qs[128] @16. x = d*sc*q - dmin*m; sub-block j = elements
// 32j..32j+31; chunk c = j/2 uses qs[32c..32c+31], low nibbles for even j, high for odd j.
TEST_CASE("golden q4_K", "[quant][golden]") {
    std::vector<uint8_t> b(144, 0);
    put16(b, 0, H_1);
    put16(b, 2, H_0_5);
    std::memcpy(&b[4], kK4Scales, 12);
    b[16 + 0] = 0x5F;    // e0 q15, e32 q5
    b[16 + 64] = 0x07;   // e128 q7
    b[16 + 127] = 0xA0;  // e223 q0, e255 q10
    const auto y = decode(GgmlType::Q4_K, b);
    // q = 0 elsewhere: x = -dmin*m: sub 0 -> -2, sub 4 -> -0.5, sub 7 -> -17.5, others 0.
    check_expected(y, 0.f, {{0, 32, -2.f}, {128, 160, -0.5f}, {224, 256, -17.5f}},
                   {{0, 28.f}, {32, 5.f}, {128, 440.5f}, {255, 152.5f}});
}

// Q5_K: d @0, dmin @2, scales @4, qh[32] @16, qs[128] @48. As Q4_K plus the fifth bit of
// element 64c + l in bit 2c of qh[l] and of element 64c + 32 + l in bit 2c + 1.
TEST_CASE("golden q5_K", "[quant][golden]") {
    std::vector<uint8_t> b(176, 0);
    put16(b, 0, H_1);
    put16(b, 2, H_0_5);
    std::memcpy(&b[4], kK4Scales, 12);
    b[16 + 0] = 0x11;    // fifth bits of e0 (bit 0) and e128 (bit 4)
    b[16 + 5] = 0x02;    // fifth bit of e37 (bit 1)
    b[16 + 31] = 0x80;   // fifth bit of e255 (bit 7)
    b[48 + 0] = 0x5F;    // e0 q15, e32 q5
    b[48 + 64] = 0x07;   // e128 q7
    b[48 + 127] = 0xA0;  // e255 q10
    const auto y = decode(GgmlType::Q5_K, b);
    check_expected(y, 0.f, {{0, 32, -2.f}, {128, 160, -0.5f}, {224, 256, -17.5f}},
                   {{0, 60.f},        // 2*(15+16) - 2
                    {32, 5.f},
                    {37, 16.f},       // 1*(0+16)
                    {128, 1448.5f},   // 63*(7+16) - 0.5
                    {255, 424.5f}});  // 17*(10+16) - 17.5
}

// Q6_K: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d @208. x = d*sc[e/16]*(q-32).
// In half h (128 elements), element l + 32s: low nibble from ql[64h + l + 32(s&1)] (high nibble
// if s >= 2), top two bits from bits 2s of qh[32h + l].
TEST_CASE("golden q6_K", "[quant][golden]") {
    std::vector<uint8_t> b(210, 0);
    put16(b, 208, H_0_5);
    b[192 + 0] = 2;
    b[192 + 1] = uint8_t(-1);
    b[192 + 4] = 10;
    b[192 + 15] = uint8_t(-128);
    b[0] = 0x0F;        // e0 low nibble 15, e64 low nibble 0
    b[128 + 0] = 0x03;  // e0 top bits 3 -> q 63
    b[127] = 0x50;      // e255 (h1 s3 l31) low nibble 5
    b[128 + 63] = 0x80; // e255 top bits 2 -> q 37
    const auto y = decode(GgmlType::Q6_K, b);
    // q = 0 elsewhere: x = 0.5*sc*(0-32) = -16 sc: sub 0 -> -32, sub 1 -> 16, sub 4 -> -160,
    // sub 15 -> 2048, others 0.
    check_expected(y, 0.f, {{0, 16, -32.f}, {16, 32, 16.f}, {64, 80, -160.f}, {240, 256, 2048.f}},
                   {{0, 31.f},       // 0.5*2*(63-32)
                    {255, -320.f}}); // 0.5*-128*(37-32)
}

TEST_CASE("golden f16 / bf16 / f32 rows", "[quant][golden]") {
    const uint8_t f16[8] = {0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0xFF, 0x7B};  // 1, -2, 2^-24, 65504
    float y[4];
    traits_of(GgmlType::F16).to_float(f16, y, 4);
    CHECK(y[0] == 1.f);
    CHECK(y[1] == -2.f);
    CHECK(y[2] == 5.9604644775390625e-08f);
    CHECK(y[3] == 65504.f);
    const uint8_t bf16[6] = {0x80, 0x3F, 0x49, 0x40, 0x80, 0xFF};  // 1, 3.140625, -inf
    traits_of(GgmlType::BF16).to_float(bf16, y, 3);
    CHECK(y[0] == 1.f);
    CHECK(y[1] == 3.140625f);
    CHECK(y[2] == -INFINITY);
    const float f32[2] = {1.5f, -0.25f};
    traits_of(GgmlType::F32).to_float(f32, y, 2);
    CHECK(y[0] == 1.5f);
    CHECK(y[1] == -0.25f);
}
