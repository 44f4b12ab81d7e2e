// Compares the AVX2 table with the scalar reference table. Skips (passes) on CPUs without AVX2.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/kernel_table.h"
#include "quant/block_formats.h"
#include "quant/type_traits.h"

using namespace moecpu;
using namespace moecpu::kernels;

namespace {

const KernelTable* avx2_or_null() {
    const CpuFeatures& f = cpu_features();
    if (!(f.avx2 && f.fma && f.f16c)) return nullptr;
    return avx2_table();
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

struct Operands {
    std::vector<uint8_t> w, a;
    size_t w_row_bytes = 0, a_row_bytes = 0;
    std::vector<float> w_f, a_f;  // dequantized, for the error bound
};

Operands make_operands(GgmlType wt, int64_t k, int nr, int nc, uint32_t seed) {
    const TypeTraits& wtr = traits_of(wt);
    const GgmlType act = act_type_for(wt);
    const TypeTraits& atr = traits_of(act);
    Operands o;
    o.w_row_bytes = row_size(wt, k);
    o.a_row_bytes = row_size(act, k);
    auto wf = random_floats(size_t(nr) * k, seed);
    auto af = random_floats(size_t(nc) * k, seed + 1, 3.f);
    o.w.resize(o.w_row_bytes * nr);
    o.a.resize(o.a_row_bytes * nc);
    wtr.quantize(wf.data(), o.w.data(), nr, k, nullptr);
    const KernelTable* ref = scalar_table();
    auto qa = ref->quantize_act[int(act)];
    for (int c = 0; c < nc; ++c) {
        if (qa)
            qa(af.data() + size_t(c) * k, o.a.data() + c * o.a_row_bytes, k);
        else
            std::memcpy(o.a.data() + c * o.a_row_bytes, af.data() + size_t(c) * k, o.a_row_bytes);
    }
    o.w_f.resize(size_t(nr) * k);
    o.a_f.resize(size_t(nc) * k);
    for (int r = 0; r < nr; ++r) wtr.to_float(o.w.data() + r * o.w_row_bytes, o.w_f.data() + size_t(r) * k, k);
    for (int c = 0; c < nc; ++c) atr.to_float(o.a.data() + c * o.a_row_bytes, o.a_f.data() + size_t(c) * k, k);
    return o;
}

void compare_tiles(const KernelTable& t, GgmlType wt, const Operands& o, int64_t k, int nr, int nc) {
    const size_t os = size_t(nr) + 3;
    std::vector<float> want(os * nc, -1.f), got(os * nc, -1.f);
    scalar_table()->mat_tile[int(wt)](k, o.w.data(), o.w_row_bytes, nr, o.a.data(), o.a_row_bytes, nc, want.data(), os);
    t.mat_tile[int(wt)](k, o.w.data(), o.w_row_bytes, nr, o.a.data(), o.a_row_bytes, nc, got.data(), os);
    const bool is_float = !traits_of(wt).is_quantized;
    for (int c = 0; c < nc; ++c) {
        for (int r = 0; r < nr; ++r) {
            double mag = 0;
            for (int64_t i = 0; i < k; ++i) mag += std::fabs(double(o.w_f[size_t(r) * k + i]) * o.a_f[size_t(c) * k + i]);
            const double tol = (is_float ? 2e-5 : 1e-5) * mag + 1e-6;
            INFO(traits_of(wt).name << " k=" << k << " nr=" << nr << " nc=" << nc << " r=" << r << " c=" << c);
            REQUIRE(std::fabs(double(got[c * os + r]) - want[c * os + r]) <= tol);
        }
        for (size_t r = nr; r < os; ++r) REQUIRE(got[c * os + r] == -1.f);  // nothing written past nr
    }
}

const GgmlType kWeightTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                 GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                                 GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::F32,  GgmlType::F16,
                                 GgmlType::BF16};

}  // namespace

TEST_CASE("avx2 mat_tile matches scalar for every format, tile shape and tail", "[avx2]") {
    const KernelTable* t = avx2_or_null();
    if (!t) return;
    for (GgmlType wt : kWeightTypes) {
        if (!t->mat_tile[int(wt)]) continue;
        for (int64_t k : {int64_t(256), int64_t(768), int64_t(2048)}) {
            const int nr = 11, nc = 9;
            const Operands o = make_operands(wt, k, nr, nc, 1234u + uint32_t(k));
            for (int n_rows : {1, 2, 3, 4, 5, 7, 11})
                for (int n_cols : {1, 2, 3, 4, 5, 8, 9}) compare_tiles(*t, wt, o, k, n_rows, n_cols);
        }
    }
}

TEST_CASE("avx2 float mat_tile handles any k", "[avx2]") {
    const KernelTable* t = avx2_or_null();
    if (!t) return;
    for (GgmlType wt : {GgmlType::F32, GgmlType::F16, GgmlType::BF16})
        for (int64_t k : {int64_t(1), int64_t(7), int64_t(37), int64_t(100)}) {
            const Operands o = make_operands(wt, k, 5, 6, 77u + uint32_t(k));
            for (int n_rows : {1, 2, 3, 5})
                for (int n_cols : {1, 2, 4, 5, 6}) compare_tiles(*t, wt, o, k, n_rows, n_cols);
        }
}

TEST_CASE("avx2 mat_tile handles extreme weights and activations without saturation", "[avx2]") {
    const KernelTable* t = avx2_or_null();
    if (!t) return;
    for (GgmlType wt : kWeightTypes) {
        if (!t->mat_tile[int(wt)] || !traits_of(wt).is_quantized) continue;
        const int64_t k = 512;
        const int nr = 3, nc = 3;
        Operands o = make_operands(wt, k, nr, nc, 99);
        // Weights: every byte 0xFF (all quant bits set: largest magnitudes) or 0x00, fp16 scale
        // fields set afterwards to sane values by re-quantizing would change them, so instead use
        // rows of constant extreme floats.
        std::vector<float> wf(size_t(nr) * k), af(size_t(nc) * k);
        for (int64_t i = 0; i < k; ++i) {
            wf[i] = (i % 7 == 0) ? -1.f : 1.f;            // row 0: mixed extremes
            wf[k + i] = -1.f;                            // row 1: all at the negative end
            wf[2 * k + i] = (i % 2) ? 1.f : -0.999f;     // row 2: alternating
            af[i] = 1.f;                                 // column 0: all +127
            af[k + i] = -1.f;                            // column 1: all -127
            af[2 * k + i] = (i % 2) ? 1.f : -1.f;        // column 2: alternating
        }
        const TypeTraits& wtr = traits_of(wt);
        wtr.quantize(wf.data(), o.w.data(), nr, k, nullptr);
        auto qa = scalar_table()->quantize_act[int(act_type_for(wt))];
        for (int c = 0; c < nc; ++c) qa(af.data() + size_t(c) * k, o.a.data() + c * o.a_row_bytes, k);
        for (int r = 0; r < nr; ++r) wtr.to_float(o.w.data() + r * o.w_row_bytes, o.w_f.data() + size_t(r) * k, k);
        const TypeTraits& atr = traits_of(act_type_for(wt));
        for (int c = 0; c < nc; ++c) atr.to_float(o.a.data() + c * o.a_row_bytes, o.a_f.data() + size_t(c) * k, k);
        compare_tiles(*t, wt, o, k, nr, nc);
    }
}

TEST_CASE("avx2 quantize_act produces the scalar reference blocks", "[avx2]") {
    const KernelTable* t = avx2_or_null();
    if (!t) return;
    for (GgmlType at : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K}) {
        if (!t->quantize_act[int(at)]) continue;
        const int64_t n = 4096;
        auto x = random_floats(n, 7, 2.f);
        x[5] = 0.5f;                                                    // ties after scaling are rare;
        for (int64_t i = 512; i < 768; ++i) x[i] = 0.f;                // an all-zero block
        for (int64_t i = 768; i < 1024; ++i) x[i] = float(i % 255) - 127.f;  // integer grid: many ties
        x[1024] = -1e4f;                                              // negative extreme
        for (int64_t i = 1280; i < 1536; ++i) x[i] = float(i % 64) - 31.5f;  // exact .5 ties...
        x[1280] = 127.f;                                              // ...with scale 1
        const size_t bytes = row_size(at, n);
        std::vector<uint8_t> want(bytes, 0), got(bytes, 0);
        scalar_table()->quantize_act[int(at)](x.data(), want.data(), n);
        t->quantize_act[int(at)](x.data(), got.data(), n);
        INFO(traits_of(at).name);
        REQUIRE(std::memcmp(want.data(), got.data(), bytes) == 0);
    }
}

TEST_CASE("avx2 table exists on AVX2 CPUs and fills every mat_tile format", "[avx2]") {
    if (!avx2_or_null()) return;
    const KernelTable* t = avx2_table();
    REQUIRE(t != nullptr);
    REQUIRE(t->isa == Isa::Avx2);
    for (GgmlType wt : kWeightTypes) REQUIRE(t->mat_tile[int(wt)] != nullptr);
}

TEST_CASE("avx2 Q8_0 weights of -128 (legal in files) and full-range activations", "[avx2]") {
    const KernelTable* t = avx2_or_null();
    if (!t) return;
    const int64_t k = 256;
    const int nr = 3, nc = 3;
    Operands o = make_operands(GgmlType::Q8_0, k, nr, nc, 5);
    // Raw blocks: row 0 all -128, row 1 alternating -128 / 127, row 2 all 127; activations ±127.
    for (int r = 0; r < nr; ++r) {
        auto* blocks = reinterpret_cast<block_q8_0*>(o.w.data() + r * o.w_row_bytes);
        for (int64_t b = 0; b < k / 32; ++b)
            for (int j = 0; j < 32; ++j) blocks[b].qs[j] = int8_t(r == 0 ? -128 : r == 1 ? (j % 2 ? 127 : -128) : 127);
        traits_of(GgmlType::Q8_0).to_float(o.w.data() + r * o.w_row_bytes, o.w_f.data() + size_t(r) * k, k);
    }
    for (int c = 0; c < nc; ++c) {
        auto* blocks = reinterpret_cast<block_q8_0*>(o.a.data() + c * o.a_row_bytes);
        for (int64_t b = 0; b < k / 32; ++b)
            for (int j = 0; j < 32; ++j) blocks[b].qs[j] = int8_t(c == 0 ? 127 : c == 1 ? -127 : (j % 2 ? -127 : 127));
        traits_of(GgmlType::Q8_0).to_float(o.a.data() + c * o.a_row_bytes, o.a_f.data() + size_t(c) * k, k);
    }
    compare_tiles(*t, GgmlType::Q8_0, o, k, nr, nc);
}
