// Quantized block layouts, bit-for-bit identical to ggml's ggml-common.h so GGUF files written
// by llama.cpp load unchanged. Each struct states its bits per weight and has its size asserted.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moecpu {

using half_bits = uint16_t;  // IEEE fp16 stored as raw bits (ggml_half)

constexpr int QK4_0 = 32;
constexpr int QK4_1 = 32;
constexpr int QK5_0 = 32;
constexpr int QK5_1 = 32;
constexpr int QK8_0 = 32;
constexpr int QK8_1 = 32;
constexpr int QK_K = 256;        // super-block size of the K-quants
constexpr int K_SCALE_SIZE = 12; // packed 6-bit scales/mins of Q4_K / Q5_K

// 4.5 bpw: x = d * (q - 8), q in [0,15]. Low nibbles hold elements 0..15, high nibbles 16..31.
struct block_q4_0 {
    half_bits d;
    uint8_t qs[QK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 2 + QK4_0 / 2, "block_q4_0 size");

// 5.0 bpw: x = d * q + m, q in [0,15].
struct block_q4_1 {
    half_bits d;
    half_bits m;
    uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 4 + QK4_1 / 2, "block_q4_1 size");

// 5.5 bpw: x = d * (q - 16), q in [0,31]; bit 4 of element j is bit j of qh.
struct block_q5_0 {
    half_bits d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 2 + 4 + QK5_0 / 2, "block_q5_0 size");

// 6.0 bpw: x = d * q + m, q in [0,31].
struct block_q5_1 {
    half_bits d;
    half_bits m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 4 + 4 + QK5_1 / 2, "block_q5_1 size");

// 8.5 bpw: x = d * q, q in [-127,127].
struct block_q8_0 {
    half_bits d;
    int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 2 + QK8_0, "block_q8_0 size");

// 9.0 bpw: like Q8_0 plus s = d * sum(qs) (activation type of Q4_1 / Q5_1 in ggml).
struct block_q8_1 {
    half_bits d;
    half_bits s;
    int8_t qs[QK8_1];
};
static_assert(sizeof(block_q8_1) == 4 + QK8_1, "block_q8_1 size");

// 2.625 bpw. 16 sub-blocks of 16: x = d * (scales[i] & 0xF) * q - dmin * (scales[i] >> 4), q in [0,3].
struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    half_bits d;
    half_bits dmin;
};
static_assert(sizeof(block_q2_K) == 2 * 2 + QK_K / 16 + QK_K / 4, "block_q2_K size");

// 3.4375 bpw. 16 sub-blocks of 16 with 6-bit signed scales (packed in 12 bytes, offset 32):
// x = d * (scale - 32) * (q - 4 * !hbit), low 2 bits in qs, high bit in hmask.
struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    half_bits d;
};
static_assert(sizeof(block_q3_K) == 2 + QK_K / 4 + QK_K / 8 + 12, "block_q3_K size");

// 4.5 bpw. 8 sub-blocks of 32 with 6-bit scales and mins: x = d * sc * q - dmin * m, q in [0,15].
struct block_q4_K {
    half_bits d;
    half_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2, "block_q4_K size");

// 5.5 bpw. As Q4_K with a fifth bit per weight in qh.
struct block_q5_K {
    half_bits d;
    half_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8, "block_q5_K size");

// 6.5625 bpw. 16 sub-blocks of 16 with int8 scales: x = d * scales[i] * (q - 32), q in [0,63].
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    half_bits d;
};
static_assert(sizeof(block_q6_K) == 2 + QK_K / 16 + 3 * QK_K / 4, "block_q6_K size");

// Activation format for K-quant dot products (never stored in files): x = d * q,
// bsums[i] = sum of qs[16 i .. 16 i + 15], used to fold the mins in.
struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};
static_assert(sizeof(block_q8_K) == 4 + QK_K + QK_K / 16 * 2, "block_q8_K size");

}  // namespace moecpu
