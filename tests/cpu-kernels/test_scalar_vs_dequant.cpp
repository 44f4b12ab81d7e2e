// The scalar reference mat_tile against the plain definition: dequantize the weight row
// (quant's dequantize_row_*), dequantize the Q8 activations, dot in double.
#include <catch2/catch.hpp>

#include "kernel_checks.h"

using namespace moecpu;
using namespace moecpu::kernel_checks;

namespace {

// Tolerance per format, as a fraction of M (kernel_checks.h magnitude()). The symmetric legacy
// formats dequantize exactly (fp16 d times a small integer), so only the final rounding to float
// remains; formats with a min or two-level scales round a product or two per element.
double tolerance_for(GgmlType t) {
    switch (t) {
        case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: return 2e-7;
        case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: return 2e-7;
        default: return 1e-6;  // Q4_1, Q5_1, Q2_K..Q6_K
    }
}

// Q4_1 / Q5_1 multiply their min m by the activation block's s, which Q8_1 stores as fp16
// (ggml's layout) computed from the unrounded d: the exact dot differs from dequantize-then-dot
// by up to |m| (|s| + sum |a|) 2^-11 per block.
double q8_1_sum_rounding(GgmlType wt, const uint8_t* wrow, const uint8_t* arow, int64_t k) {
    if (kernels::act_type_for(wt) != GgmlType::Q8_1) return 1e-30;
    size_t off[2];
    REQUIRE(half_fields(wt, off) == 2);
    double bound = 0.0;
    for (int64_t b = 0; b < k / 32; ++b) {
        const double m = get_half(wrow + b * traits_of(wt).type_size + off[1]);
        const double s = get_half(arow + b * sizeof(block_q8_1) + offsetof(block_q8_1, s));
        const std::vector<float> af = act_to_float(GgmlType::Q8_1, arow + b * sizeof(block_q8_1), 32);
        double sum_abs = 0.0;
        for (float v : af) sum_abs += std::fabs(v);
        bound += std::fabs(m) * (std::fabs(s) + sum_abs) * (1.0 / 2048.0);
    }
    return bound + 1e-30;
}

void check_against_dequant(GgmlType wt, WeightFill wfill, ActFill afill, int64_t n_blocks, uint64_t seed) {
    const KernelTable& ref = *kernels::scalar_table();
    const GgmlType at = kernels::act_type_for(wt);
    const int64_t k = n_blocks * traits_of(wt).block_size;
    const int nr = 5, nc = 3;
    Rng rng(seed);
    RowBuffer w(nr, row_size(wt, k)), a(nc, row_size(at, k));
    for (int r = 0; r < nr; ++r) fill_weight_row(wt, w.row(r), k, wfill, rng);
    for (int c = 0; c < nc; ++c) fill_act_row(at, a.row(c), k, afill, rng, ref);
    std::vector<float> out(static_cast<size_t>(nr) * nc);
    ref.mat_tile[idx(wt)](k, w.data(), w.row_bytes(), nr, a.data(), a.row_bytes(), nc, out.data(), size_t(nr));

    std::vector<float> wf(static_cast<size_t>(k));
    for (int c = 0; c < nc; ++c) {
        const std::vector<float> af = act_to_float(at, a.row(c), k);
        for (int r = 0; r < nr; ++r) {
            traits_of(wt).to_float(w.row(r), wf.data(), k);
            double want = 0.0;
            for (int64_t i = 0; i < k; ++i) want += double(wf[i]) * af[i];
            const double tol = tolerance_for(wt) * magnitude(wt, w.row(r), af) + q8_1_sum_rounding(wt, w.row(r), a.row(c), k);
            INFO(type_name(wt) << " weights=" << fill_name(wfill) << " acts=" << fill_name(afill) << " k=" << k
                               << " r=" << r << " c=" << c << " got=" << out[c * nr + r] << " want=" << want
                               << " tol=" << tol);
            CHECK(std::fabs(out[c * nr + r] - want) <= tol);
        }
    }
}

}  // namespace

TEST_CASE("scalar mat_tile equals dequantize-then-dot for every format", "[kernels][scalar]") {
    uint64_t seed = 1;
    for (GgmlType wt : kWeightTypes) {
        for (WeightFill wf : {WeightFill::RandomBits, WeightFill::Quantized, WeightFill::AllBitsSet, WeightFill::AllBitsClear})
            for (ActFill af : {ActFill::Random, ActFill::PlusMax, ActFill::Alternating, ActFill::Quantized})
                for (int64_t nb : {1, 3})
                    check_against_dequant(wt, wf, af, is_float_type(wt) ? 37 * nb : nb, seed++);
    }
}

TEST_CASE("scalar quantize_act is the quant reference", "[kernels][scalar]") {
    const KernelTable& ref = *kernels::scalar_table();
    for (GgmlType at : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K}) {
        const int64_t k = 3 * traits_of(at).block_size;
        Rng rng(9);
        std::vector<float> x(static_cast<size_t>(k));
        for (float& v : x) v = rng.uniform(-2, 2);
        std::vector<uint8_t> got(row_size(at, k)), want(row_size(at, k));
        ref.quantize_act[idx(at)](x.data(), got.data(), k);
        traits_of(at).from_float_ref(x.data(), want.data(), k);
        CHECK(got == want);
    }
}
