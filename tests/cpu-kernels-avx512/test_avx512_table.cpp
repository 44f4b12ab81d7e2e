// The AVX-512 kernel table against the scalar reference (tests/cpu-kernels/kernel_checks.h):
// the SIMDe build of the same sources always (it runs on any x86-64 with AVX2), the native
// build when this CPU has AVX-512 F/BW/VL/DQ/VNNI. On top of the shared harness:
// quantize_act is byte-identical to the reference, and int8 extremes the quantizers never
// produce (-128 in weights and activations) stay within the harness's tolerance.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "cpu-kernels/act_format.h"
#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/kernel_table.h"
#include "quant/block_formats.h"
#include "quant/type_traits.h"
#include "tests/cpu-kernels/kernel_checks.h"

namespace moecpu::kernels {
const KernelTable* avx512_simde_table();  // defined by the SIMDe build of cpu-kernels/x86/avx512
}

using namespace moecpu;
using namespace moecpu::kernels;
using moecpu::kernel_checks::Rng;

namespace {

const KernelTable* native_avx512_or_null() {
    const CpuFeatures& f = cpu_features();
    const bool usable = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.fma && f.f16c;
    return usable ? avx512_table() : nullptr;
}

// Rows of floats exercising halfway cases, a zero block, ties in |max| of both signs and outliers.
std::vector<float> tricky_row(int64_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        switch ((i / 256) % 4) {
            case 0: x[i] = rng.uniform(-3.f, 3.f); break;
            case 1: x[i] = float(int(i % 255) - 127) * 0.5f; break;   // exact .5 steps after scaling
            case 2: x[i] = (i % 256) < 64 ? 0.f : (i % 2 ? -2.f : 2.f); break;  // zero block, ±max ties
            default: x[i] = i % 61 == 0 ? -500.f : rng.uniform(-1e-3f, 1e-3f); break;
        }
    }
    return x;
}

bool same_bytes(const KernelTable& t, GgmlType at, const std::vector<float>& x) {
    const int64_t n = int64_t(x.size());
    const size_t bytes = row_size(at, n);
    std::vector<uint8_t> got(bytes + 8, 0xA5), want(bytes + 8, 0xA5);
    t.quantize_act[int(at)](x.data(), got.data(), n);
    scalar_table()->quantize_act[int(at)](x.data(), want.data(), n);
    return std::memcmp(got.data(), want.data(), bytes + 8) == 0;  // incl. nothing written past the row
}

// Stricter than the shared harness (which allows one step of difference): byte-identical output,
// on the harness's input patterns and on tricky_row.
void check_quantize_act_bit_exact(const KernelTable& t) {
    for (GgmlType at : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K}) {
        REQUIRE(t.quantize_act[int(at)] != nullptr);
        const int64_t bs = traits_of(at).block_size;
        Rng rng(uint64_t(at) * 13);
        for (int64_t nb : {1, 2, 3, 7, 9, 28}) {
            for (int pattern = 0; pattern < 6; ++pattern) {
                INFO(t.name << " quantize_act " << traits_of(at).name << " blocks=" << nb << " pattern=" << pattern);
                CHECK(same_bytes(t, at, kernel_checks::act_input(nb * bs, pattern, rng)));
            }
        }
        INFO(t.name << " quantize_act " << traits_of(at).name << " tricky row");
        CHECK(same_bytes(t, at, tricky_row(8 * 256, 5 + uint64_t(at))));
    }
}

// Weights and activations of raw int8 bytes including -128, which the quantizers never write:
// the legacy dots use vpdpbusd with the sign on either side, which must stay exact. Long rows of
// every format, and short rows (one four-block group, a partial one) of the 32-element formats.
void check_int8_extremes(const KernelTable& t, GgmlType wt, int64_t k, int nr, int nc) {
    const KernelTable& ref = *scalar_table();
    const GgmlType at = act_type_for(wt);
    const size_t wrow = row_size(wt, k), arow = row_size(at, k);
    std::vector<uint8_t> w(nr * wrow), a(nc * arow);
    Rng rng(uint64_t(wt) * 97);
    for (auto& b : w) b = rng.byte();
    for (auto& b : a) b = (rng.next() & 3) ? 0x80 : rng.byte();  // mostly -128
    // Keep scales finite and moderate: rewrite every fp16 / f32 scale field.
    const size_t wbs = traits_of(wt).type_size, abs_ = traits_of(at).type_size;
    size_t off[2];
    const int nh = kernel_checks::half_fields(wt, off);
    for (size_t b = 0; b < w.size() / wbs; ++b)
        for (int h = 0; h < nh; ++h) kernel_checks::put_half(&w[b * wbs + off[h]], 0.01f * float(1 + b % 3));
    for (size_t b = 0; b < a.size() / abs_; ++b) {
        uint8_t* blk = &a[b * abs_];
        if (at == GgmlType::Q8_K) {
            block_q8_K q;
            std::memcpy(&q, blk, sizeof q);
            q.d = 0.02f;
            for (int g = 0; g < QK_K / 16; ++g) {
                int s = 0;
                for (int j = 0; j < 16; ++j) s += q.qs[16 * g + j];
                q.bsums[g] = int16_t(s);
            }
            std::memcpy(blk, &q, sizeof q);
        } else {
            kernel_checks::put_half(blk, 0.02f);
            if (at == GgmlType::Q8_1) {
                int s = 0;
                for (int j = 0; j < 32; ++j) s += int8_t(blk[offsetof(block_q8_1, qs) + j]);
                kernel_checks::put_half(blk + offsetof(block_q8_1, s), 0.02f * float(s));
            }
        }
    }
    std::vector<float> got(nr * nc), want(nr * nc);
    t.mat_tile[int(wt)](k, w.data(), wrow, nr, a.data(), arow, nc, got.data(), nr);
    ref.mat_tile[int(wt)](k, w.data(), wrow, nr, a.data(), arow, nc, want.data(), nr);
    for (int c = 0; c < nc; ++c) {
        const std::vector<float> af = kernel_checks::act_to_float(at, &a[c * arow], k);
        for (int r = 0; r < nr; ++r) {
            // Same bound as the harness: 1e-5 of the largest partial sum a correct kernel forms.
            const double tol = 1e-5 * kernel_checks::magnitude(wt, &w[r * wrow], af);
            const float g = got[c * nr + r], e = want[c * nr + r];
            INFO(t.name << " " << traits_of(wt).name << " k=" << k << " r=" << r << " c=" << c << " got " << g << " want " << e
                        << " tol " << tol);
            CHECK(std::fabs(double(g) - double(e)) <= tol);
        }
    }
}

void check_int8_extremes(const KernelTable& t) {
    for (GgmlType wt : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_1,
                        GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
        check_int8_extremes(t, wt, 5 * QK_K, 5, 6);
    for (GgmlType wt : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_1})
        for (const int64_t k : {128, 96})
            for (const auto& s : {std::pair{16, 1}, std::pair{16, 2}, std::pair{7, 1}, std::pair{8, 4}})
                check_int8_extremes(t, wt, k, s.first, s.second);
}

void check_all(const KernelTable& t) {
    check_quantize_act_bit_exact(t);
    check_int8_extremes(t);
    kernel_checks::check_table_against_scalar(t);
}

}  // namespace

TEST_CASE("avx512 kernels built through SIMDe match the scalar reference", "[kernels][avx512]") {
    const KernelTable* t = avx512_simde_table();
    REQUIRE(t != nullptr);
    CHECK(t->isa == Isa::Avx512);
    check_all(*t);
}

TEST_CASE("native avx512 table matches the scalar reference", "[kernels][avx512]") {
    const KernelTable* t = native_avx512_or_null();
    if (!t) {
        WARN("this CPU lacks AVX-512 F/BW/VL/DQ/VNNI: native AVX-512 table not checked");
        return;
    }
    CHECK(std::strcmp(t->name, "avx512") == 0);
    check_all(*t);
}
