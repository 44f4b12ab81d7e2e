// Small AVX2 helpers shared by the AVX2 kernel files. Only those files (compiled with
// -mavx2 -mfma -mf16c) include this header, and every helper is `static` so no copy built with
// AVX2 instructions can ever be chosen by the linker for baseline code.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace moecpu::kernels::avx2 {

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

static inline uint16_t load_u16(const void* p) {
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
}

static inline uint32_t load_u32(const void* p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

static inline float load_f32(const void* p) {
    float v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
static inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 bytes of packed nibbles → 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31
// (the element order of the 32-element legacy blocks).
static inline __m256i nibbles_to_bytes(const uint8_t* qs) {
    const __m128i packed = load128(qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits → 32 bytes, byte j = 0xFF if bit j is set, else 0.
static inline __m256i bits_to_byte_mask(uint32_t bits) {
    // Byte j of the result looks at source byte j/8 and tests bit j%8.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(bits)),
        _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                          0x0101010101010101LL, 0x0000000000000000LL));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Sum of 32 products of unsigned bytes `u` (< 128 where `s` may be -128) and signed bytes `s`,
// as eight 32-bit partial sums.
static inline __m256i dot_u8_i8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Signed × signed bytes via |x| and y·sign(x); needs y ≠ -128 (activations are clamped to ±127).
static inline __m256i dot_i8_i8(__m256i x_abs, __m256i x, __m256i y) {
    return dot_u8_i8(x_abs, _mm256_sign_epi8(y, x));
}

// Software prefetch of the weight stream `distance` bytes ahead of a block of `block_bytes`.
// A matvec is bound by the weight stream, and the hardware prefetchers alone leave bandwidth
// unused (they restart at every 4 KiB page). Distances were tuned with moe-bench on Zen 5:
// 32-element blocks with 4 rows per step, K-quants with 2 rows per step.
constexpr int kPrefetchLegacy = 2048;
constexpr int kPrefetchKQuant = 6144;

// For a tile that walks `rows` rows in lockstep: prefetches the block `distance` bytes ahead of
// offset `pos` in `row` (of `row_len` bytes used), or, once that is past the row's end, the
// matching bytes of the row `rows` further on, which the next tile of the matvec reads.
static inline void prefetch_ahead(const uint8_t* row, size_t pos, size_t row_len, size_t row_stride,
                                  int rows, int block_bytes, int distance) {
    // Integer arithmetic: the address may lie past the weights (a prefetch never faults).
    const size_t p = pos + size_t(distance);
    const uintptr_t addr = reinterpret_cast<uintptr_t>(row) + (p < row_len ? p : size_t(rows) * row_stride + (p - row_len));
    for (int off = 0; off < block_bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(addr + off), _MM_HINT_T0);
}

// Shuffle controls for K-quants with 16-element sub-blocks: a 32-byte chunk t covers sub-blocks
// 2t (low lane) and 2t+1 (high lane). From 16 scale bytes broadcast to both lanes, control t
// puts byte 2t into every 16-bit element of the low lane and byte 2t+1 into the high lane,
// either as the low byte with a zero high byte (unsigned scales) or as the high byte with a
// zero low byte (signed scales: an arithmetic shift right by 8 then sign-extends).
struct ScalePairControls {
    alignas(32) uint8_t bytes[8][32];
};

static constexpr ScalePairControls make_scale_pair_controls(bool to_high_byte) {
    ScalePairControls c{};
    for (int t = 0; t < 8; ++t)
        for (int i = 0; i < 32; ++i) {
            const uint8_t src = static_cast<uint8_t>(2 * t + (i >= 16 ? 1 : 0));
            const bool value_byte = ((i % 2) == 1) == to_high_byte;
            c.bytes[t][i] = value_byte ? src : 0x80;  // 0x80: shuffle writes zero
        }
    return c;
}

constexpr ScalePairControls kScalePairUnsigned = make_scale_pair_controls(false);
constexpr ScalePairControls kScalePairSigned = make_scale_pair_controls(true);

// `bytes` = 16 unsigned scale bytes in both lanes → int16 scales of chunk t.
static inline __m256i scale_pair_u8(__m256i bytes, int t) {
    return _mm256_shuffle_epi8(bytes, _mm256_load_si256(reinterpret_cast<const __m256i*>(kScalePairUnsigned.bytes[t])));
}

// As scale_pair_u8 for signed scale bytes.
static inline __m256i scale_pair_i8(__m256i bytes, int t) {
    return _mm256_srai_epi16(
        _mm256_shuffle_epi8(bytes, _mm256_load_si256(reinterpret_cast<const __m256i*>(kScalePairSigned.bytes[t]))), 8);
}

// Shuffle controls broadcasting 16-bit element j of each 128-bit lane to that whole lane.
struct BroadcastI16Controls {
    alignas(32) uint8_t bytes[8][32];
};

static constexpr BroadcastI16Controls make_broadcast_i16_controls() {
    BroadcastI16Controls c{};
    for (int j = 0; j < 8; ++j)
        for (int i = 0; i < 32; ++i) c.bytes[j][i] = static_cast<uint8_t>(2 * j + i % 2);
    return c;
}

constexpr BroadcastI16Controls kBroadcastI16 = make_broadcast_i16_controls();

static inline __m256i broadcast_i16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(kBroadcastI16.bytes[j])));
}

template <int R, int C>
static inline void store_sums(__m256 (&acc)[R][C], float* out, size_t os) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) out[c * os + r] = hsum(acc[r][c]);
}

template <int R, int C>
static inline void zero(__m256 (&acc)[R][C]) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
}

}  // namespace moecpu::kernels::avx2
