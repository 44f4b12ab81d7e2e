// The batched ("gemm") driver of the AVX-512 Q8_0 / Q4_0 / Q5_0 tiles against Q8_0 activations, used
// when a tile has enough rows and columns (prefill). As the K-quant driver (kquant_gemm_avx512.h,
// whose repack helpers it shares), the tile's 16 weight rows are repacked once per slice of
// blocks so that one zmm holds four consecutive weights of each of the 16 rows; one vpdpbusd
// with four activation bytes broadcast then does 64 MACs for 16 rows, and every repacked
// register serves all the tile's columns.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights stay signed (Q4_0: u - 8, Q5_0:
// u - 16) and the activation bytes are made unsigned (a ^ 0x80 = a + 128) while they are staged
// per column group and slice, a copy of 32 bytes per block; each row's block sum then starts at
// -128·Σw, computed once in the repack and shared by all columns, so it is exact. Per block and
// column the sum is converted once and scaled by d_w·d_a.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu-kernels/x86/avx512/kquant_gemm_avx512.h"

namespace moecpu::kernels::MOECPU_AVX512_NS {
namespace {

constexpr int kBlock32 = 32;
// Blocks repacked at a time: 8 blocks (256 elements, 5 KB repacked) stay in L1 while every
// column streams over them.
constexpr int kBlock32SliceBlocks = 8;

// One 32-element block of 16 rows, row-interleaved.
struct InterleavedBlock32 {
    __m512i quads[kBlock32 / 4];  // quads[q] lane r: signed weights 4q..4q+3 of row r
    __m512i start;                // per row: -128·Σw, the start of every column's block sum
    __m512 d;                     // per row
};

// One activation column's slice, staged: bytes made unsigned, scales as floats.
struct StagedColumn {
    alignas(64) uint8_t unsigned_qs[kBlock32SliceBlocks][kBlock32];  // a + 128
    float d[kBlock32SliceBlocks];
};

// The fp16 scale at `offset` in each of the 16 rows, as floats.
MOECPU_AVX512_INLINE __m512 interleave_block_scales(RowBlocks rows, size_t offset) {
    alignas(32) uint16_t bits[kGemmRows];
    for (int r = 0; r < kGemmRows; ++r) std::memcpy(&bits[r], rows.first + r * rows.stride + offset, 2);
    return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(bits)));
}

// -128·Σw per row, the correction for the activation's +128.
MOECPU_AVX512_INLINE __m512i minus_128_row_sums(const __m512i quads[kBlock32 / 4]) {
    const __m512i u128 = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512i sum = _mm512_setzero_si512();
    for (int q = 0; q < kBlock32 / 4; ++q) sum = _mm512_dpbusd_epi32(sum, u128, quads[q]);
    return _mm512_sub_epi32(_mm512_setzero_si512(), sum);
}

// Q8_0: 32 int8 after d.
MOECPU_AVX512_INLINE void interleave_q8_0(RowBlocks rows, int64_t b, InterleavedBlock32* out) {
    const size_t block = size_t(b) * sizeof(block_q8_0);
    out->d = interleave_block_scales(rows, block + offsetof(block_q8_0, d));
    __m512i quads[kBlock32 / 4];
    transpose_16x4_words(rows, block + offsetof(block_q8_0, qs), quads);
    transpose_16x4_words(rows, block + offsetof(block_q8_0, qs) + 16, quads + 4);
    for (int q = 0; q < kBlock32 / 4; ++q) out->quads[q] = quads[q];
    out->start = minus_128_row_sums(quads);
}

// Q4_0: byte j holds element j (low nibble) and j + 16 (high), so qs word t gives quads t and 4 + t.
MOECPU_AVX512_INLINE void interleave_q4_0(RowBlocks rows, int64_t b, InterleavedBlock32* out) {
    const size_t block = size_t(b) * sizeof(block_q4_0);
    const __m512i low4 = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
    out->d = interleave_block_scales(rows, block + offsetof(block_q4_0, d));
    __m512i qs[4], quads[kBlock32 / 4];
    transpose_16x4_words(rows, block + offsetof(block_q4_0, qs), qs);
    for (int t = 0; t < 4; ++t) {
        quads[t] = _mm512_sub_epi8(_mm512_and_si512(qs[t], low4), eight);
        quads[4 + t] = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(qs[t], 4), low4), eight);
    }
    for (int q = 0; q < kBlock32 / 4; ++q) out->quads[q] = quads[q];
    out->start = minus_128_row_sums(quads);
}

// Q5_0: as Q4_0 with a fifth bit per element (bit j of the 32-bit qh: element j), w = u - 16.
MOECPU_AVX512_INLINE void interleave_q5_0(RowBlocks rows, int64_t b, InterleavedBlock32* out) {
    const size_t block = size_t(b) * sizeof(block_q5_0);
    const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
    out->d = interleave_block_scales(rows, block + offsetof(block_q5_0, d));
    alignas(64) uint32_t qh_bits[kGemmRows];
    for (int r = 0; r < kGemmRows; ++r)
        std::memcpy(&qh_bits[r], rows.first + r * rows.stride + block + offsetof(block_q5_0, qh), 4);
    const __m512i qh = _mm512_load_si512(qh_bits);
    __m512i qs[4], quads[kBlock32 / 4];
    transpose_16x4_words(rows, block + offsetof(block_q5_0, qs), qs);
    for (int q = 0; q < kBlock32 / 4; ++q) {
        const __m512i nibbles =
            q < 4 ? _mm512_and_si512(qs[q], low4) : _mm512_and_si512(_mm512_srli_epi16(qs[q - 4], 4), low4);
        // Bits 4q..4q+3 of qh to bit 4 of bytes 0..3: ×0x00204081 moves bit k to bit 8k (the
        // other products land elsewhere), then << 4.
        const __m512i four = _mm512_and_si512(_mm512_srli_epi32(qh, 4 * q), _mm512_set1_epi32(0xF));
        const __m512i spread = _mm512_mullo_epi32(four, _mm512_set1_epi32(0x00204081));
        const __m512i fifth = _mm512_and_si512(_mm512_slli_epi32(spread, 4), _mm512_set1_epi32(0x10101010));
        quads[q] = _mm512_sub_epi8(_mm512_or_si512(nibbles, fifth), sixteen);
    }
    for (int q = 0; q < kBlock32 / 4; ++q) out->quads[q] = quads[q];
    out->start = minus_128_row_sums(quads);
}

using Interleave32Fn = void (*)(RowBlocks rows, int64_t b, InterleavedBlock32* out);

template <Interleave32Fn Interleave>
MOECPU_AVX512_NOINLINE void interleave_block32_slice(RowBlocks rows, int64_t b0, int n, InterleavedBlock32* out) {
    for (int i = 0; i < n; ++i) Interleave(rows, b0 + i, &out[i]);
}

// Byte offsets of the scales of blocks 0..7 in a Q8_0 row.
alignas(32) constexpr int32_t kScaleOffsets[8] = {0, 34, 68, 102, 136, 170, 204, 238};
static_assert(sizeof(block_q8_0) == 34, "kScaleOffsets");
static_assert(kBlock32SliceBlocks % 8 == 0, "scales are staged eight at a time");

// Stages the n <= kBlock32SliceBlocks blocks of each act[c] (a missing block's scale repeats
// the last one, unused).
MOECPU_AVX512_NOINLINE void stage_columns(const block_q8_0* const* act, int nc, int n, StagedColumn* out) {
    const __m256i sign_flip = _mm256_set1_epi8(static_cast<char>(0x80));
    const __m256i first_eight = _mm256_load_si256(reinterpret_cast<const __m256i*>(kScaleOffsets));
    for (int c = 0; c < nc; ++c) {
        const block_q8_0* x = act[c];
        for (int i = 0; i < n; ++i) {
            const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
            _mm256_store_si256(reinterpret_cast<__m256i*>(out[c].unsigned_qs[i]), _mm256_xor_si256(bytes, sign_flip));
        }
        for (int i = 0; i < n; i += 8) {
            const __m256i last = _mm256_set1_epi32(int(sizeof(block_q8_0)) * (n - 1 - i));
            const __m256i offsets = _mm256_min_epi32(first_eight, last);
            // Each 32-bit gather holds a scale in its low half.
            const __m256i words = _mm256_i32gather_epi32(reinterpret_cast<const int*>(x + i), offsets, 1);
            const __m512i packed =
                _mm512_permutexvar_epi16(_mm512_load_si512(kEvenWords), _mm512_castsi256_si512(words));
            _mm256_storeu_ps(out[c].d + i, _mm256_cvtph_ps(_mm512_castsi512_si128(packed)));
        }
    }
}

// Adds the dots of `n_blocks` repacked blocks with NC staged activation columns to tot[c][row].
// The NC int32 chains advance side by side (see interleaved_dot_columns).
template <int NC>
MOECPU_AVX512_NOINLINE void interleaved_block32_dot_columns(const InterleavedBlock32* blocks, int n_blocks,
                                                            const StagedColumn* staged, float (*tot)[kGemmRows]) {
    __m512 sum[NC];
    for (int c = 0; c < NC; ++c) sum[c] = _mm512_load_ps(tot[c]);
    for (int i = 0; i < n_blocks; ++i) {
        const __m512i start = _mm512_load_si512(&blocks[i].start);
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = start;
        for (int q = 0; q < kBlock32 / 4; ++q) {
            const __m512i w = _mm512_load_si512(&blocks[i].quads[q]);
            for (int c = 0; c < NC; ++c)
                isum[c] = _mm512_dpbusd_epi32(isum[c], broadcast_4_bytes(staged[c].unsigned_qs[i] + 4 * q), w);
        }
        const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(&blocks[i].d));
        for (int c = 0; c < NC; ++c)
            sum[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, _mm512_set1_ps(staged[c].d[i])),
                                     sum[c]);
    }
    for (int c = 0; c < NC; ++c) _mm512_store_ps(tot[c], sum[c]);
}

// Stages NC columns' slice (kept in L1 for the dots right after) and dots them.
template <int NC>
void block32_dot_column_group(const TileArgs& t, const InterleavedBlock32* blocks, int64_t b0, int n_blocks, int c0,
                              float (*tot)[kGemmRows]) {
    const block_q8_0* act[NC];
    for (int c = 0; c < NC; ++c) act[c] = reinterpret_cast<const block_q8_0*>(t.a + (c0 + c) * t.a_row_bytes) + b0;
    StagedColumn staged[NC];
    stage_columns(act, NC, n_blocks, staged);
    interleaved_block32_dot_columns<NC>(blocks, n_blocks, staged, tot + c0);
}

// A 32-element block format for the 16-row tile loop (gemm16_driver_avx512.h).
template <size_t kBytes, Interleave32Fn Interleave>
struct Block32GemmFormat {
    using Block = InterleavedBlock32;
    static constexpr int kSliceBlocks = kBlock32SliceBlocks;
    static constexpr int kBlockElements = kBlock32;
    static constexpr size_t kBlockBytes = kBytes;
    static void repack(RowBlocks rows, int64_t b0, int n, Block* out) { interleave_block32_slice<Interleave>(rows, b0, n, out); }
    template <int NC>
    static void dot(const TileArgs& t, const Block* blocks, int64_t b0, int n, int c0, float (*tot)[kGemmRows]) {
        block32_dot_column_group<NC>(t, blocks, b0, n, c0, tot);
    }
};

// Groups of 16 rows through the repacked path; returns the rows left for the row-by-row path.
template <size_t kBlockBytes, Interleave32Fn Interleave>
TileArgs block32_gemm_rows(TileArgs t, int min_rows) {
    return gemm16_rows<Block32GemmFormat<kBlockBytes, Interleave>>(t, min_rows);
}

}  // namespace
}  // namespace moecpu::kernels::MOECPU_AVX512_NS
