// Round trips on fixed synthetic weights: error bounds per format, error ordering by bits,
// importance weighting, and known-answer hashes of the quantized bytes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/ggml_types.h"
#include "quant/type_traits.h"
#include "tests/quant/synth.h"

using namespace moecpu;
using moecpu::testing::fnv1a;
using moecpu::testing::synth_importance;
using moecpu::testing::synth_weights;

namespace {

constexpr int64_t kRows = 16, kCols = 2048;

struct Format {
    GgmlType type;
    double max_rel_rmse;  // bound on rmse / rms(x) of a plain round trip (measured value + ~15%)
    bool uses_importance;
    // FNV-1a of the quantized bytes of synth_weights(16, 2048, 42), plain and with
    // synth_importance(2048, 7). Both were produced by ggml's own ggml-quants.c (ggml commit
    // d99724f, 2026-08) on the same data: our quantizers are byte-identical to ggml's.
    uint64_t hash_plain, hash_imp;
};

const Format kFormats[] = {
    {GgmlType::F16, 0.00025, false, 0x80dae42cd2c73c28ull, 0x80dae42cd2c73c28ull},
    {GgmlType::BF16, 0.002, false, 0x081154c37fdc8b68ull, 0x081154c37fdc8b68ull},
    {GgmlType::Q4_0, 0.115, true, 0x9d57512aae55bffaull, 0xafb57cdd604b25aaull},
    {GgmlType::Q4_1, 0.095, true, 0x589775c4d141fc85ull, 0x3c24c58ee4604cfbull},
    {GgmlType::Q5_0, 0.058, true, 0x0a79e2d2cda3cb8eull, 0x7b1e01a4093e3ed2ull},
    {GgmlType::Q5_1, 0.045, true, 0x724bd6e53458939aull, 0x27e2ec8a3825c027ull},
    {GgmlType::Q8_0, 0.0075, false, 0x2a4f0c1b58feeb19ull, 0x2a4f0c1b58feeb19ull},
    {GgmlType::Q8_1, 0.0075, false, 0x97d048e437045ed8ull, 0x97d048e437045ed8ull},
    {GgmlType::Q2_K, 0.34, true, 0x364c5f23e24fb1d1ull, 0x8e693c3ef32397d3ull},
    {GgmlType::Q3_K, 0.18, true, 0x4c0a5e649e79393cull, 0x2e41c57cc4590daeull},
    {GgmlType::Q4_K, 0.087, true, 0x7acb0e772f1cafaaull, 0xf9b12aecdabc0dd7ull},
    {GgmlType::Q5_K, 0.044, true, 0xecff6a3bd13e5890ull, 0xb2613b933e23ecbeull},
    {GgmlType::Q6_K, 0.023, true, 0x81bfd671187003b4ull, 0xa7ed2485fadc2208ull},
    {GgmlType::Q8_K, 0.015, false, 0xad9985590cb8a04bull, 0xad9985590cb8a04bull},
};

struct Result {
    double rmse = 0, weighted_rmse = 0;
    uint64_t hash = 0;
};

const std::vector<float>& weights() {
    static const std::vector<float> x = synth_weights(kRows, kCols, 42);
    return x;
}
const std::vector<float>& importance() {
    static const std::vector<float> w = synth_importance(kCols, 7);
    return w;
}

double rms(const std::vector<float>& x) {
    double s = 0;
    for (float v : x) s += double(v) * v;
    return std::sqrt(s / double(x.size()));
}

Result round_trip(GgmlType t, const float* imp) {
    const TypeTraits& tr = traits_of(t);
    const auto& x = weights();
    const auto& w = importance();
    std::vector<uint8_t> q(row_size(t, kCols) * kRows + 64, 0xEE);
    const size_t written = tr.quantize(x.data(), q.data(), kRows, kCols, imp);
    REQUIRE(written == row_size(t, kCols) * kRows);
    for (size_t i = written; i < q.size(); ++i) REQUIRE(q[i] == 0xEE);  // nothing past the end
    std::vector<float> y(x.size());
    tr.to_float(q.data(), y.data(), kRows * kCols);
    Result r;
    double s = 0, sw = 0, wsum = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double d = double(y[i]) - x[i];
        const double wi = w[i % size_t(kCols)];
        s += d * d;
        sw += wi * d * d;
        wsum += wi;
    }
    r.rmse = std::sqrt(s / double(x.size()));
    r.weighted_rmse = std::sqrt(sw / wsum);
    r.hash = fnv1a(q.data(), written);
    return r;
}

double rel_rmse(GgmlType t) { return round_trip(t, nullptr).rmse / rms(weights()); }

}  // namespace

TEST_CASE("round trip error within bounds for every format", "[quant][roundtrip]") {
    for (const Format& f : kFormats) {
        INFO(traits_of(f.type).name);
        const double rel = rel_rmse(f.type);
        CHECK(rel < f.max_rel_rmse);
        CHECK(rel > 0.0);
    }
    // F32 is exact.
    CHECK(rel_rmse(GgmlType::F32) == 0.0);
}

TEST_CASE("round trip error decreases with bits", "[quant][roundtrip]") {
    const GgmlType k_chain[] = {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                GgmlType::Q6_K, GgmlType::Q8_0, GgmlType::BF16, GgmlType::F16};
    const GgmlType legacy_chain[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                     GgmlType::Q8_0};
    for (const auto* chain : {&k_chain[0], &legacy_chain[0]}) {
        const size_t n = chain == k_chain ? std::size(k_chain) : std::size(legacy_chain);
        for (size_t i = 0; i + 1 < n; ++i) {
            INFO(traits_of(chain[i]).name << " vs " << traits_of(chain[i + 1]).name);
            CHECK(rel_rmse(chain[i]) > rel_rmse(chain[i + 1]));
        }
    }
    // Same bits, better scheme: the K-quant beats the legacy format at 4 and 5 bits.
    CHECK(rel_rmse(GgmlType::Q4_0) > rel_rmse(GgmlType::Q4_K));
    CHECK(rel_rmse(GgmlType::Q5_0) > rel_rmse(GgmlType::Q5_K));
}

TEST_CASE("importance weights reduce the importance-weighted error", "[quant][roundtrip][imatrix]") {
    for (const Format& f : kFormats) {
        INFO(traits_of(f.type).name);
        const Result plain = round_trip(f.type, nullptr);
        const Result weighted = round_trip(f.type, importance().data());
        if (f.uses_importance) {
            // At least 5% lower weighted rmse (measured: 8% for Q5_0 up to 25% for Q2_K).
            CHECK(weighted.weighted_rmse < 0.95 * plain.weighted_rmse);
            // ... without wrecking the unweighted error.
            CHECK(weighted.rmse < 1.25 * plain.rmse);
        } else {
            CHECK(weighted.hash == plain.hash);  // these formats ignore the importance
        }
    }
}

TEST_CASE("uniform importance behaves like a good plain quantizer", "[quant][roundtrip][imatrix]") {
    const std::vector<float> ones(size_t(kCols), 1.0f);
    for (const Format& f : kFormats) {
        if (!f.uses_importance) continue;
        INFO(traits_of(f.type).name);
        const Result plain = round_trip(f.type, nullptr);
        const Result flat = round_trip(f.type, ones.data());
        CHECK(flat.rmse < 1.05 * plain.rmse);
    }
}

TEST_CASE("known answers: quantized bytes equal ggml's", "[quant][roundtrip][golden]") {
    for (const Format& f : kFormats) {
        INFO(traits_of(f.type).name);
        CHECK(round_trip(f.type, nullptr).hash == f.hash_plain);
        CHECK(round_trip(f.type, importance().data()).hash == f.hash_imp);
    }
}

TEST_CASE("quantize: rows are independent and from_float_ref matches quantize without weights",
          "[quant][roundtrip]") {
    const auto& x = weights();
    for (const Format& f : kFormats) {
        const TypeTraits& tr = traits_of(f.type);
        INFO(tr.name);
        const size_t rs = row_size(f.type, kCols);
        std::vector<uint8_t> all(rs * kRows), one(rs), ref(rs * kRows);
        tr.quantize(x.data(), all.data(), kRows, kCols, importance().data());
        tr.quantize(x.data() + 3 * kCols, one.data(), 1, kCols, importance().data());
        CHECK(std::memcmp(one.data(), all.data() + 3 * rs, rs) == 0);
        tr.quantize(x.data(), all.data(), kRows, kCols, nullptr);
        tr.from_float_ref(x.data(), ref.data(), kRows * kCols);
        CHECK(std::memcmp(all.data(), ref.data(), all.size()) == 0);
    }
}

TEST_CASE("quantize: all-zero and constant rows", "[quant][roundtrip]") {
    for (const Format& f : kFormats) {
        const TypeTraits& tr = traits_of(f.type);
        INFO(tr.name);
        const int64_t n = 512;
        std::vector<uint8_t> q(row_size(f.type, n));
        std::vector<float> y(static_cast<size_t>(n));
        const std::vector<float> ones(size_t(n), 1.0f);
        for (const float* imp : {static_cast<const float*>(nullptr), ones.data()}) {
            const std::vector<float> zero(size_t(n), 0.0f);
            tr.quantize(zero.data(), q.data(), 1, n, imp);
            tr.to_float(q.data(), y.data(), n);
            for (float v : y) REQUIRE(v == 0.0f);
            // A constant row comes back to within 1% (Q2_K's 2-bit levels included).
            const std::vector<float> c(size_t(n), -0.75f);
            tr.quantize(c.data(), q.data(), 1, n, imp);
            tr.to_float(q.data(), y.data(), n);
            for (float v : y) REQUIRE(std::fabs(v + 0.75f) < 0.0075f);
        }
    }
}
