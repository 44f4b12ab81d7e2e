// Shared test harness: checks every non-null entry of a kernel table against the scalar
// reference table on synthetic data. Header-only; depends on the library headers and Catch2.
//
//   #include "tests/cpu-kernels/kernel_checks.h"   (or "kernel_checks.h" next to it)
//   TEST_CASE("avx2 table") { moecpu::kernel_checks::check_table_against_scalar(*moecpu::kernels::avx2_table()); }
//
// What is covered, per entry:
//  - quantize_act (Q8_0, Q8_1, Q8_K, F32): scale within one fp16/float step of the reference,
//    each quant within 1 of it, and the block's own sums (Q8_1 s, Q8_K bsums) consistent with
//    its quants; F32 an exact copy.
//  - mat_tile (every weight format): k of 1, 2, 3, 7, 9 blocks (float formats: k from 1 to 257),
//    nr and nc 1..9 plus 13, 16, 17, 33, 64, padded strides, unaligned base pointers, weights of
//    random bits, all bits set, all bits clear and quantized from floats, activations random or at
//    ±127 (±max); for the 32-element formats also short rows (128 elements and 2 to 16 blocks, nr
//    1..17, nc 1..5, the extremes among them). Tolerance: |got - ref| <= 1e-5 * M where
//    M = sum_i |a_i| * (|w_i| + 2 max|w| of i's block) bounds the magnitude of every partial
//    sum, scales and mins included. Entries outside the nr x nc tile must stay untouched.
//  - element-wise ops: add and scale exact; axpy 1e-6 relative (fma contraction allowed);
//    rms_norm, rope 2e-6 relative; silu_mul, softmax 1e-5 relative (room for exp approximations).
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/kernel_table.h"
#include "quant/block_formats.h"
#include "quant/fp16.h"
#include "quant/type_traits.h"

namespace moecpu::kernel_checks {

using kernels::KernelTable;

// SplitMix64: deterministic, seedable, no library state.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * float(next() >> 40) * (1.0f / 16777216.0f); }
    int range(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }  // inclusive
    uint8_t byte() { return uint8_t(next() >> 56); }

private:
    uint64_t state_;
};

constexpr GgmlType kWeightTypes[] = {
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
    GgmlType::F16,  GgmlType::BF16, GgmlType::F32};
constexpr GgmlType kActTypes[] = {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K, GgmlType::F32};

inline const char* type_name(GgmlType t) { return traits_of(t).name; }
inline int idx(GgmlType t) { return static_cast<int>(t); }
inline bool is_float_type(GgmlType t) { return !traits_of(t).is_quantized; }

enum class WeightFill { RandomBits, AllBitsSet, AllBitsClear, Quantized };
enum class ActFill { Random, PlusMax, MinusMax, Alternating, Quantized };

inline const char* fill_name(WeightFill f) {
    switch (f) {
        case WeightFill::RandomBits: return "random-bits";
        case WeightFill::AllBitsSet: return "all-bits-set";
        case WeightFill::AllBitsClear: return "all-bits-clear";
        case WeightFill::Quantized: return "quantized";
    }
    return "?";
}
inline const char* fill_name(ActFill f) {
    switch (f) {
        case ActFill::Random: return "random";
        case ActFill::PlusMax: return "+max";
        case ActFill::MinusMax: return "-max";
        case ActFill::Alternating: return "alternating-max";
        case ActFill::Quantized: return "quantized";
    }
    return "?";
}

// Rows of `row_bytes` (>= the data size: padded) starting 4 bytes past a 64-byte boundary, so
// SIMD code meets unaligned rows as it will in a GGUF mapping or a work buffer.
class RowBuffer {
public:
    RowBuffer(int rows, size_t row_bytes) : rows_(rows), row_bytes_(row_bytes), storage_(rows * row_bytes + 128, 0xA5) {
        const auto base = reinterpret_cast<uintptr_t>(storage_.data());
        offset_ = size_t((64 - base % 64) % 64) + 4;
    }
    uint8_t* row(int r) { return storage_.data() + offset_ + size_t(r) * row_bytes_; }
    const uint8_t* data() const { return storage_.data() + offset_; }
    size_t row_bytes() const { return row_bytes_; }
    int rows() const { return rows_; }

private:
    int rows_;
    size_t row_bytes_;
    std::vector<uint8_t> storage_;
    size_t offset_ = 0;
};

inline void put_half(uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
}
inline float get_half(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_fp32(h);
}

// Byte offsets of a block's fp16 scale fields (d, and m / dmin where the format has one).
inline int half_fields(GgmlType t, size_t offsets[2]) {
    switch (t) {
        case GgmlType::Q4_0: offsets[0] = offsetof(block_q4_0, d); return 1;
        case GgmlType::Q5_0: offsets[0] = offsetof(block_q5_0, d); return 1;
        case GgmlType::Q8_0: offsets[0] = offsetof(block_q8_0, d); return 1;
        case GgmlType::Q4_1: offsets[0] = offsetof(block_q4_1, d); offsets[1] = offsetof(block_q4_1, m); return 2;
        case GgmlType::Q5_1: offsets[0] = offsetof(block_q5_1, d); offsets[1] = offsetof(block_q5_1, m); return 2;
        case GgmlType::Q2_K: offsets[0] = offsetof(block_q2_K, d); offsets[1] = offsetof(block_q2_K, dmin); return 2;
        case GgmlType::Q3_K: offsets[0] = offsetof(block_q3_K, d); return 1;
        case GgmlType::Q4_K: offsets[0] = offsetof(block_q4_K, d); offsets[1] = offsetof(block_q4_K, dmin); return 2;
        case GgmlType::Q5_K: offsets[0] = offsetof(block_q5_K, d); offsets[1] = offsetof(block_q5_K, dmin); return 2;
        case GgmlType::Q6_K: offsets[0] = offsetof(block_q6_K, d); return 1;
        default: return 0;
    }
}

// One weight row of k elements of type t.
inline void fill_weight_row(GgmlType t, uint8_t* row, int64_t k, WeightFill fill, Rng& rng) {
    const TypeTraits& tr = traits_of(t);
    if (fill == WeightFill::Quantized) {
        std::vector<float> x(static_cast<size_t>(k));
        for (float& v : x) v = rng.uniform(-1.0f, 1.0f) * rng.uniform(0.0f, 1.0f);
        tr.from_float_ref(x.data(), row, k);
        return;
    }
    if (is_float_type(t)) {
        for (int64_t i = 0; i < k; ++i) {
            float v = fill == WeightFill::RandomBits ? rng.uniform(-2.0f, 2.0f)
                      : fill == WeightFill::AllBitsSet ? 1000.0f : -0.25f;
            if (t == GgmlType::F32) std::memcpy(row + 4 * i, &v, 4);
            else if (t == GgmlType::F16) { const uint16_t h = fp32_to_fp16(v); std::memcpy(row + 2 * i, &h, 2); }
            else { const uint16_t h = fp32_to_bf16(v); std::memcpy(row + 2 * i, &h, 2); }
        }
        return;
    }
    const int64_t nb = k / tr.block_size;
    const size_t bs = tr.type_size;
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* blk = row + b * bs;
        for (size_t i = 0; i < bs; ++i)
            blk[i] = fill == WeightFill::RandomBits ? rng.byte() : fill == WeightFill::AllBitsSet ? 0xFF : 0x00;
        size_t off[2];
        const int nh = half_fields(t, off);
        for (int h = 0; h < nh; ++h) {
            // Random sign and a magnitude spanning a few binades; fixed for the extreme fills.
            const float mag = fill == WeightFill::RandomBits ? rng.uniform(0.001f, 0.05f) : 0.03f;
            const float sign = fill == WeightFill::RandomBits && (rng.next() & 1) ? -1.0f : 1.0f;
            put_half(blk + off[h], sign * mag);
        }
        if (t == GgmlType::Q8_0) {  // ggml's quantizer never writes -128
            auto* qs = reinterpret_cast<int8_t*>(blk + offsetof(block_q8_0, qs));
            for (int j = 0; j < QK8_0; ++j)
                qs[j] = int8_t(fill == WeightFill::RandomBits ? rng.range(-127, 127)
                                                                : fill == WeightFill::AllBitsSet ? 127 : -127);
        }
    }
}

inline int8_t act_quant(ActFill fill, int j, Rng& rng) {
    switch (fill) {
        case ActFill::PlusMax: return 127;
        case ActFill::MinusMax: return -127;
        case ActFill::Alternating: return int8_t(j % 2 ? -127 : 127);
        default: return int8_t(rng.range(-127, 127));
    }
}

// One activation row of k elements in activation type at. Quantized uses the table `ref`.
inline void fill_act_row(GgmlType at, uint8_t* row, int64_t k, ActFill fill, Rng& rng, const KernelTable& ref) {
    if (fill == ActFill::Quantized || at == GgmlType::F32) {
        std::vector<float> x(static_cast<size_t>(k));
        for (int64_t i = 0; i < k; ++i) {
            x[i] = fill == ActFill::PlusMax ? 1.0f : fill == ActFill::MinusMax ? -1.0f
                   : fill == ActFill::Alternating ? (i % 2 ? -1.0f : 1.0f) : rng.uniform(-3.0f, 3.0f);
        }
        ref.quantize_act[idx(at)](x.data(), row, k);
        return;
    }
    if (at == GgmlType::Q8_0 || at == GgmlType::Q8_1) {
        const size_t bs = at == GgmlType::Q8_0 ? sizeof(block_q8_0) : sizeof(block_q8_1);
        const size_t qs_off = at == GgmlType::Q8_0 ? offsetof(block_q8_0, qs) : offsetof(block_q8_1, qs);
        for (int64_t b = 0; b < k / 32; ++b) {
            uint8_t* blk = row + b * bs;
            const float d = rng.uniform(0.001f, 0.1f);
            put_half(blk, d);
            int sum = 0;
            for (int j = 0; j < 32; ++j) {
                const int8_t q = act_quant(fill, j, rng);
                blk[qs_off + j] = uint8_t(q);
                sum += q;
            }
            if (at == GgmlType::Q8_1) put_half(blk + offsetof(block_q8_1, s), get_half(blk) * float(sum));
        }
        return;
    }
    // Q8_K: d float, may be negative (ggml's d = max / -127).
    for (int64_t b = 0; b < k / QK_K; ++b) {
        block_q8_K blk;
        blk.d = rng.uniform(0.001f, 0.1f) * ((rng.next() & 1) ? -1.0f : 1.0f);
        for (int j = 0; j < QK_K; ++j) blk.qs[j] = act_quant(fill, j, rng);
        for (int g = 0; g < QK_K / 16; ++g) {
            int s = 0;
            for (int j = 0; j < 16; ++j) s += blk.qs[16 * g + j];
            blk.bsums[g] = int16_t(s);
        }
        std::memcpy(row + b * sizeof(block_q8_K), &blk, sizeof(blk));
    }
}

// Floats of an activation row (for the tolerance bound).
inline std::vector<float> act_to_float(GgmlType at, const uint8_t* row, int64_t k) {
    std::vector<float> out(static_cast<size_t>(k));
    if (at == GgmlType::F32) {
        std::memcpy(out.data(), row, size_t(k) * 4);
    } else if (at == GgmlType::Q8_0 || at == GgmlType::Q8_1) {
        const size_t bs = at == GgmlType::Q8_0 ? sizeof(block_q8_0) : sizeof(block_q8_1);
        const size_t qs_off = at == GgmlType::Q8_0 ? offsetof(block_q8_0, qs) : offsetof(block_q8_1, qs);
        for (int64_t i = 0; i < k; ++i) {
            const uint8_t* blk = row + (i / 32) * bs;
            out[i] = get_half(blk) * float(int8_t(blk[qs_off + i % 32]));
        }
    } else {
        for (int64_t i = 0; i < k; ++i) {
            block_q8_K blk;
            std::memcpy(&blk, row + (i / QK_K) * sizeof(block_q8_K), sizeof(blk));
            out[i] = blk.d * float(blk.qs[i % QK_K]);
        }
    }
    return out;
}

// M = sum_i |a_i| * (|w_i| + 2 max|w| of i's weight block): an upper bound on the magnitude of
// every partial sum a correct kernel forms (scale and min terms of a block each <= 2 max|w|).
inline double magnitude(GgmlType wt, const uint8_t* wrow, const std::vector<float>& a) {
    const int64_t k = int64_t(a.size());
    std::vector<float> w(static_cast<size_t>(k));
    traits_of(wt).to_float(wrow, w.data(), k);
    const int64_t bs = std::max<int64_t>(traits_of(wt).block_size, 1);
    double m = 0.0;
    for (int64_t b0 = 0; b0 < k; b0 += bs) {
        float block_max = 0.0f;
        for (int64_t i = b0; i < b0 + bs; ++i) block_max = std::max(block_max, std::fabs(w[i]));
        for (int64_t i = b0; i < b0 + bs; ++i) m += std::fabs(double(a[i])) * (std::fabs(w[i]) + 2.0 * block_max);
    }
    return m;
}

struct TileCase {
    GgmlType type;
    int64_t k;
    int nr, nc;
    WeightFill wfill;
    ActFill afill;
    uint64_t seed;
};

inline std::string describe(const TileCase& c) {
    std::ostringstream s;
    s << type_name(c.type) << " k=" << c.k << " nr=" << c.nr << " nc=" << c.nc << " weights=" << fill_name(c.wfill)
      << " acts=" << fill_name(c.afill) << " seed=" << c.seed;
    return s.str();
}

// Runs one tile through `t` and the scalar table; true when every entry is within tolerance.
inline void check_one_tile(const KernelTable& t, const KernelTable& ref, const TileCase& c) {
    const GgmlType at = kernels::act_type_for(c.type);
    Rng rng(c.seed);
    // Padded strides that keep the block struct's alignment (4 covers every format).
    RowBuffer w(c.nr, row_size(c.type, c.k) + 12);
    RowBuffer a(c.nc, row_size(at, c.k) + 20);
    for (int r = 0; r < c.nr; ++r) fill_weight_row(c.type, w.row(r), c.k, c.wfill, rng);
    for (int col = 0; col < c.nc; ++col) fill_act_row(at, a.row(col), c.k, c.afill, rng, ref);

    const size_t out_stride = size_t(c.nr) + 3;
    const float sentinel = -12345.625f;
    std::vector<float> got(out_stride * c.nc + 5, sentinel), want(out_stride * c.nc + 5, sentinel);
    t.mat_tile[idx(c.type)](c.k, w.data(), w.row_bytes(), c.nr, a.data(), a.row_bytes(), c.nc, got.data(), out_stride);
    ref.mat_tile[idx(c.type)](c.k, w.data(), w.row_bytes(), c.nr, a.data(), a.row_bytes(), c.nc, want.data(), out_stride);

    std::string first_bad;
    int n_bad = 0;
    for (int col = 0; col < c.nc; ++col) {
        const std::vector<float> af = act_to_float(at, a.row(col), c.k);
        for (size_t r = 0; r < out_stride; ++r) {
            const size_t i = size_t(col) * out_stride + r;
            std::ostringstream why;
            if (int(r) >= c.nr) {
                if (std::memcmp(&got[i], &sentinel, 4) != 0) why << "wrote outside the tile at r=" << r << " c=" << col;
            } else {
                const double tol = 1e-5 * magnitude(c.type, w.row(int(r)), af) + 1e-30;
                const double err = std::fabs(double(got[i]) - double(want[i]));
                if (!(err <= tol))
                    why << "r=" << r << " c=" << col << " got=" << got[i] << " want=" << want[i] << " tol=" << tol;
            }
            if (!why.str().empty() && n_bad++ == 0) first_bad = why.str();
        }
    }
    for (size_t i = out_stride * c.nc; i < got.size(); ++i)
        if (std::memcmp(&got[i], &sentinel, 4) != 0 && n_bad++ == 0) first_bad = "wrote past the last column";
    INFO(t.name << " mat_tile " << describe(c) << ": " << n_bad << " bad, first: " << first_bad);
    CHECK(n_bad == 0);
}

// Block counts (block formats) or k values (float formats) used by the tile checks.
inline std::vector<int64_t> k_values(GgmlType wt, bool small) {
    const int64_t bs = traits_of(wt).block_size;
    if (bs == 1) return small ? std::vector<int64_t>{1, 3, 16, 33} : std::vector<int64_t>{7, 64, 100, 257};
    const std::vector<int64_t> nbs = small ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{2, 7, 9};
    std::vector<int64_t> ks;
    for (int64_t nb : nbs) ks.push_back(nb * bs);
    return ks;
}

inline void check_mat_tile(const KernelTable& t, GgmlType wt, const KernelTable& ref) {
    uint64_t seed = 1000 * uint64_t(idx(wt)) + 1;
    // Every small tile shape.
    for (int64_t k : k_values(wt, true))
        for (int nr = 1; nr <= 9; ++nr)
            for (int nc = 1; nc <= 9; ++nc)
                check_one_tile(t, ref, {wt, k, nr, nc, WeightFill::RandomBits, ActFill::Random, seed++});
    // Larger tiles and longer rows.
    const int shapes[][2] = {{13, 17}, {16, 16}, {17, 33}, {33, 13}, {16, 64}, {64, 4}, {4, 64}};
    for (int64_t k : k_values(wt, false))
        for (const auto& s : shapes)
            check_one_tile(t, ref, {wt, k, s[0], s[1], WeightFill::RandomBits, ActFill::Random, seed++});
    // Batched tiles around the thresholds of the row-interleaved (gemm) paths: 11 to 17 rows,
    // 2 to 15 columns (every remainder of a group of 8, also with whole groups of 16 rows), more
    // than kTileCols columns, and rows of 1, 4 and 5 blocks (whole and partial repack slices).
    if (!is_float_type(wt)) {
        const int batch_shapes[][2] = {{12, 4}, {11, 4}, {12, 3}, {16, 2},  {16, 3},  {14, 6},  {16, 5},
                                       {16, 6}, {16, 7}, {15, 10}, {17, 10}, {16, 11}, {16, 12}, {12, 14},
                                       {16, 14}, {16, 15}, {16, 65}};
        for (const int64_t nb : {1, 4, 5})
            for (const auto& s : batch_shapes)
                check_one_tile(t, ref, {wt, nb * traits_of(wt).block_size, s[0], s[1], WeightFill::RandomBits,
                                        ActFill::Random, seed++});
        // 32-element formats repack 8 blocks at a time (legacy_gemm_avx512.h): one whole slice,
        // and whole slices followed by a partial one.
        if (traits_of(wt).block_size == 32)
            for (const int64_t nb : {8, 13, 21})
                for (const auto& s : batch_shapes)
                    check_one_tile(t, ref, {wt, nb * 32, s[0], s[1], WeightFill::RandomBits, ActFill::Random, seed++});
        // Long rows (130 blocks): kernels that stage the activation in segments (Q4_K's row
        // kernel: 128 super-blocks) add partial sums across segment ends.
        for (const auto& s : {std::pair{3, 1}, std::pair{16, 2}, std::pair{5, 5}, std::pair{16, 9}})
            check_one_tile(t, ref, {wt, 130 * traits_of(wt).block_size, s.first, s.second, WeightFill::RandomBits,
                                    ActFill::Random, seed++});
    }
    // Short rows of the 32-element formats, as decode meets them (DeepSeek's attn_k_b: 128
    // elements, four blocks, up to 16 rows a tile, one column): every row count to 17 (16 is one
    // reduction group) against 1 to 5 columns; rows of whole and partial four-block groups; and
    // the largest activation stages (AVX-512 Q4_0 / Q5_0 stage 128 blocks of four columns,
    // 168 of three) and one block past them.
    if (traits_of(wt).block_size == 32) {
        for (int nr = 1; nr <= 17; ++nr)
            for (int nc = 1; nc <= 5; ++nc)
                check_one_tile(t, ref, {wt, 128, nr, nc, WeightFill::RandomBits, ActFill::Random, seed++});
        const int short_shapes[][2] = {{16, 1}, {17, 1}, {13, 2}, {3, 5}, {16, 4}, {8, 4}};
        for (const int64_t nb : {2, 3, 5, 6, 8, 12, 16})
            for (const auto& s : short_shapes)
                check_one_tile(t, ref, {wt, nb * 32, s[0], s[1], WeightFill::RandomBits, ActFill::Random, seed++});
        for (const int64_t nb : {128, 129})
            check_one_tile(t, ref, {wt, nb * 32, 8, 4, WeightFill::RandomBits, ActFill::Random, seed++});
        for (const int64_t nb : {168, 169})
            check_one_tile(t, ref, {wt, nb * 32, 5, 3, WeightFill::RandomBits, ActFill::Random, seed++});
        // Every nibble / quant at its top and bottom level (Q4_0: all 15, all 0) against ±max
        // activations, on rows of one whole group and of a partial one.
        for (const int64_t nb : {4, 3})
            for (WeightFill wf : {WeightFill::AllBitsSet, WeightFill::AllBitsClear})
                for (ActFill af : {ActFill::PlusMax, ActFill::MinusMax, ActFill::Alternating})
                    for (const auto& s : {std::pair{16, 1}, std::pair{16, 2}, std::pair{5, 1}, std::pair{8, 4}})
                        check_one_tile(t, ref, {wt, nb * 32, s.first, s.second, wf, af, seed++});
    }
    // Extremes: every quant at its top / bottom level against activations at ±max.
    const int64_t k3 = 3 * traits_of(wt).block_size + (is_float_type(wt) ? 5 : 0);
    for (WeightFill wf : {WeightFill::AllBitsSet, WeightFill::AllBitsClear})
        for (ActFill af : {ActFill::PlusMax, ActFill::MinusMax, ActFill::Alternating})
            for (const auto& s : {std::pair{5, 3}, std::pair{16, 16}})
                check_one_tile(t, ref, {wt, k3, s.first, s.second, wf, af, seed++});
    // Realistic data: weights and activations from the reference quantizers.
    check_one_tile(t, ref, {wt, 7 * traits_of(wt).block_size, 17, 9, WeightFill::Quantized, ActFill::Quantized, seed++});
    check_one_tile(t, ref, {wt, 9 * traits_of(wt).block_size, 9, 17, WeightFill::Quantized, ActFill::Random, seed++});
}

inline void check_mat_tiles(const KernelTable& t, const KernelTable& ref) {
    for (GgmlType wt : kWeightTypes) {
        if (!t.mat_tile[idx(wt)]) continue;
        REQUIRE(ref.mat_tile[idx(wt)] != nullptr);
        check_mat_tile(t, wt, ref);
    }
}

// ---- quantize_act ----------------------------------------------------------------------------

inline std::vector<float> act_input(int64_t k, int pattern, Rng& rng) {
    std::vector<float> x(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) {
        switch (pattern) {
            case 0: x[i] = rng.uniform(-4.0f, 4.0f); break;
            case 1: x[i] = 0.0f; break;                                   // d = 0 path
            case 2: x[i] = i % 37 == 5 ? 300.0f : rng.uniform(-1.f, 1.f); break;  // one outlier per block-ish
            case 3: x[i] = -rng.uniform(0.0f, 1e-3f); break;              // all negative, tiny
            case 4: x[i] = float(int(i % 255) - 127); break;             // integers hit exact .5 steps
            default: x[i] = rng.uniform(-1e4f, 1e4f); break;
        }
    }
    return x;
}

inline void check_quantize_act_one(const KernelTable& t, const KernelTable& ref, GgmlType at, int64_t k, int pattern,
                                   uint64_t seed) {
    Rng rng(seed);
    const std::vector<float> x = act_input(k, pattern, rng);
    const size_t bytes = row_size(at, k);
    RowBuffer got(1, bytes + 8), want(1, bytes + 8);
    std::memset(got.row(0), 0xA5, bytes + 8);
    std::memset(want.row(0), 0xA5, bytes + 8);
    t.quantize_act[idx(at)](x.data(), got.row(0), k);
    ref.quantize_act[idx(at)](x.data(), want.row(0), k);

    std::string bad;
    const auto note = [&](const std::string& s) { if (bad.empty()) bad = s; };
    for (size_t i = bytes; i < bytes + 8; ++i)
        if (got.row(0)[i] != 0xA5) note("wrote past the row");
    if (at == GgmlType::F32) {
        if (std::memcmp(got.row(0), want.row(0), bytes) != 0) note("f32 copy differs");
    } else if (at == GgmlType::Q8_0 || at == GgmlType::Q8_1) {
        const size_t bs = at == GgmlType::Q8_0 ? sizeof(block_q8_0) : sizeof(block_q8_1);
        const size_t qs_off = at == GgmlType::Q8_0 ? offsetof(block_q8_0, qs) : offsetof(block_q8_1, qs);
        for (int64_t b = 0; b < k / 32; ++b) {
            const uint8_t* g = got.row(0) + b * bs;
            const uint8_t* w = want.row(0) + b * bs;
            uint16_t gd, wd;
            std::memcpy(&gd, g, 2);
            std::memcpy(&wd, w, 2);
            if (std::abs(int(gd) - int(wd)) > 1) note("block " + std::to_string(b) + ": d differs");
            int sum = 0;
            for (int j = 0; j < 32; ++j) {
                const int gq = int8_t(g[qs_off + j]), wq = int8_t(w[qs_off + j]);
                sum += gq;
                if (std::abs(gq - wq) > 1 || gq == -128) note("block " + std::to_string(b) + ": quant " + std::to_string(j));
            }
            if (at == GgmlType::Q8_1) {
                // s must be fp16(d * sum(own quants)) with d the unrounded amax / 127 (as ggml),
                // give or take two fp16 steps of rounding order.
                float amax = 0.0f;
                for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
                uint16_t gs, es = fp32_to_fp16(float(double(amax / 127.0f) * sum));
                std::memcpy(&gs, g + offsetof(block_q8_1, s), 2);
                const bool same_sign = (gs & 0x8000) == (es & 0x8000) || ((gs | es) & 0x7FFF) <= 2;
                if (!same_sign || std::abs(int(gs & 0x7FFF) - int(es & 0x7FFF)) > 2)
                    note("block " + std::to_string(b) + ": s");
            }
        }
    } else {
        for (int64_t b = 0; b < k / QK_K; ++b) {
            block_q8_K g, w;
            std::memcpy(&g, got.row(0) + b * sizeof(block_q8_K), sizeof(g));
            std::memcpy(&w, want.row(0) + b * sizeof(block_q8_K), sizeof(w));
            if (std::fabs(g.d - w.d) > 1e-6f * std::fabs(w.d)) note("block " + std::to_string(b) + ": d differs");
            for (int j = 0; j < QK_K; ++j)
                if (std::abs(int(g.qs[j]) - int(w.qs[j])) > 1 || g.qs[j] == -128)
                    note("block " + std::to_string(b) + ": quant " + std::to_string(j));
            for (int s = 0; s < QK_K / 16 && g.d != 0.0f; ++s) {  // d = 0: bsums unused (ggml skips them)
                int sum = 0;
                for (int j = 0; j < 16; ++j) sum += g.qs[16 * s + j];
                if (sum != g.bsums[s]) note("block " + std::to_string(b) + ": bsums " + std::to_string(s));
            }
        }
    }
    INFO(t.name << " quantize_act " << type_name(at) << " k=" << k << " pattern=" << pattern << ": " << bad);
    CHECK(bad.empty());
}

inline void check_quantize_act(const KernelTable& t, const KernelTable& ref) {
    for (GgmlType at : kActTypes) {
        if (!t.quantize_act[idx(at)]) continue;
        REQUIRE(ref.quantize_act[idx(at)] != nullptr);
        const int64_t bs = traits_of(at).block_size;
        uint64_t seed = 77 * uint64_t(idx(at));
        for (int64_t nb : {1, 2, 3, 7, 9, 28})
            for (int pattern = 0; pattern < 6; ++pattern)
                check_quantize_act_one(t, ref, at, nb * (bs == 1 ? 32 : bs) + (bs == 1 ? 3 : 0), pattern, seed++);
    }
}

// ---- element-wise ops --------------------------------------------------------------------------

inline bool nearly_equal(float got, float want, double rel, double abs_floor = 1e-30) {
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    return std::fabs(double(got) - double(want)) <= rel * std::fabs(double(want)) + abs_floor;
}

inline void check_elementwise(const KernelTable& t, const KernelTable& ref) {
    for (int64_t n : {1, 3, 7, 8, 15, 16, 17, 33, 64, 255, 256, 1000, 7168}) {
        Rng rng(uint64_t(n) * 31 + 7);
        std::vector<float> x(n), w(n), b(n), c(n / 2 + 1), s(n / 2 + 1);
        for (int64_t i = 0; i < n; ++i) { x[i] = rng.uniform(-8, 8); w[i] = rng.uniform(-2, 2); b[i] = rng.uniform(-8, 8); }
        for (size_t i = 0; i < c.size(); ++i) { const float th = rng.uniform(-10, 10); c[i] = std::cos(th); s[i] = std::sin(th); }
        std::vector<float> got(n), want(n);
        int bad = 0;
        std::string what;
        const auto compare = [&](const char* op, double rel, double abs_floor) {
            for (int64_t i = 0; i < n; ++i)
                if (!nearly_equal(got[i], want[i], rel, abs_floor) && bad++ == 0)
                    what = std::string(op) + " i=" + std::to_string(i) + " got=" + std::to_string(got[i]) +
                           " want=" + std::to_string(want[i]);
        };
        if (t.rms_norm) {
            t.rms_norm(x.data(), w.data(), got.data(), n, 1e-6f);
            ref.rms_norm(x.data(), w.data(), want.data(), n, 1e-6f);
            compare("rms_norm", 2e-6, 1e-30);
            t.rms_norm(x.data(), nullptr, got.data(), n, 1e-6f);
            ref.rms_norm(x.data(), nullptr, want.data(), n, 1e-6f);
            compare("rms_norm(no weight)", 2e-6, 1e-30);
        }
        if (t.silu_mul) {
            std::vector<float> g = x;
            if (n > 4) { g[0] = 100.0f; g[1] = -100.0f; g[2] = 0.0f; g[3] = -20.0f; }
            t.silu_mul(g.data(), b.data(), got.data(), n);
            ref.silu_mul(g.data(), b.data(), want.data(), n);
            compare("silu_mul", 1e-5, 1e-30);
        }
        if (t.softmax) {
            got = x;
            if (n > 4) { got[1] = -INFINITY; got[3] = 40.0f; }  // a masked entry and a dominant one
            want = got;
            t.softmax(got.data(), n);
            ref.softmax(want.data(), n);
            compare("softmax", 1e-5, 1e-12);
        }
        if (t.add) {
            t.add(x.data(), b.data(), got.data(), n);
            ref.add(x.data(), b.data(), want.data(), n);
            compare("add", 0.0, 0.0);
        }
        if (t.scale) {
            got = x;
            want = x;
            t.scale(got.data(), 0.37f, n);
            ref.scale(want.data(), 0.37f, n);
            compare("scale", 0.0, 0.0);
        }
        if (t.axpy) {
            got = b;
            want = b;
            t.axpy(-1.7f, x.data(), got.data(), n);
            ref.axpy(-1.7f, x.data(), want.data(), n);
            compare("axpy", 1e-6, 1e-6);  // abs floor: y + a x may cancel to near zero
        }
        if (t.rope_interleaved) {
            const int64_t nd = n - n % 2;
            got = x;
            want = x;
            t.rope_interleaved(got.data(), c.data(), s.data(), nd);
            ref.rope_interleaved(want.data(), c.data(), s.data(), nd);
            compare("rope_interleaved", 2e-6, 1e-5);  // abs floor: x0 c - x1 s may cancel
        }
        if (t.max_of) {
            std::vector<float> m = x;
            if (n > 4) { m[1] = -INFINITY; m[n - 1] = 9.5f; }  // the largest in the scalar tail
            const float g = t.max_of(m.data(), n), w_max = ref.max_of(m.data(), n);
            if (g != w_max && bad++ == 0) what = "max_of got=" + std::to_string(g) + " want=" + std::to_string(w_max);
        }
        if (t.exp_scaled_sum) {
            // Attention-like: scores scaled and shifted by their max, a masked (-inf) and a far
            // (underflowing) score among them.
            const float sc = 0.11f, shift = sc * 9.0f;
            got = x;
            if (n > 4) { got[0] = -INFINITY; got[2] = -2000.0f; got[n - 1] = 9.0f; }
            want = got;
            const float gs = t.exp_scaled_sum(got.data(), sc, shift, n), ws = ref.exp_scaled_sum(want.data(), sc, shift, n);
            compare("exp_scaled_sum", 1e-5, 1e-36);  // fms vs mul-sub: an ulp of the argument
            if (!nearly_equal(gs, ws, 1e-5) && bad++ == 0)
                what = "exp_scaled_sum sum got=" + std::to_string(gs) + " want=" + std::to_string(ws);
            // exp itself (scale 1, shift 0) against std::exp over its whole range.
            for (int64_t i = 0; i < n; ++i) got[i] = rng.uniform(-104, 88.3f);
            if (n > 4) { got[0] = -INFINITY; got[1] = 0.0f; got[2] = -1e30f; got[3] = 88.3f; }
            want = got;
            for (int64_t i = 0; i < n; ++i) want[i] = std::exp(want[i]);
            t.exp_scaled_sum(got.data(), 1.0f, 0.0f, n);
            compare("exp_scaled_sum vs std::exp", 1e-6, 1e-36);  // below e^-82.9: zero or denormal
        }
        INFO(t.name << " element-wise n=" << n << ": " << bad << " bad, first: " << what);
        CHECK(bad == 0);
    }
}

// ---- everything ----------------------------------------------------------------------------

inline void check_table_against_scalar(const KernelTable& t) {
    const KernelTable* ref = kernels::scalar_table();
    REQUIRE(ref != nullptr);
    check_quantize_act(t, *ref);
    check_mat_tiles(t, *ref);
    check_elementwise(t, *ref);
}

}  // namespace moecpu::kernel_checks
