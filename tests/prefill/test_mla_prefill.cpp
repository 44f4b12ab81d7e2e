// Non-absorbed MLA attention (models/deepseek2_prefill_attention) against a plain double
// reference (keys and values decompressed for every position, causal softmax per query), and the
// one-region per-head products of the absorbed form (models/mla_head_products) against linear().
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "lib/src/linear.h"
#include "models/deepseek2_prefill_attention.h"
#include "models/mla_head_products.h"
#include "quant/type_traits.h"

using namespace moecpu;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float sd) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, sd);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// n_mat stacked [rows][cols] matrices stored as `type`; `f32` receives what they decode to.
struct Stacked {
    std::vector<uint8_t> bytes;
    std::vector<float> f32;
    WeightView view;
    Stacked(GgmlType type, int64_t n_mat, int64_t rows, int64_t cols, uint32_t seed) {
        const auto src = random_floats(size_t(n_mat * rows * cols), seed, 0.2f);
        const size_t rb = row_size(type, cols);
        bytes.resize(rb * size_t(rows * n_mat));
        traits_of(type).quantize(src.data(), bytes.data(), rows * n_mat, cols, nullptr);
        f32.resize(src.size());
        for (int64_t r = 0; r < rows * n_mat; ++r) traits_of(type).to_float(bytes.data() + size_t(r) * rb, &f32[size_t(r * cols)], cols);
        view.type = type;
        view.data = bytes.data();
        view.cols = cols;
        view.rows = rows;
        view.n_mat = n_mat;
        view.row_bytes = rb;
        view.mat_bytes = rb * size_t(rows);
    }
};

// out[i][h][v] in double: the textbook form over the decompressed keys and values.
std::vector<double> reference(const MlaDims& d, const std::vector<float>& q, const std::vector<float>& ckv,
                              const std::vector<float>& kpe, const Stacked& kb, const Stacked& vb, int64_t n, int64_t pos0,
                              float scale) {
    const int64_t H = d.n_head, qk = d.qk_head(), n_kv = pos0 + n;
    std::vector<double> out(size_t(n * H * d.v_head), 0.0);
    std::vector<double> k(size_t(n_kv * d.qk_nope)), v(size_t(n_kv * d.v_head)), s(static_cast<size_t>(n_kv));
    for (int64_t h = 0; h < H; ++h) {
        for (int64_t t = 0; t < n_kv; ++t) {
            for (int64_t j = 0; j < d.qk_nope; ++j) {
                double acc = 0;
                for (int64_t c = 0; c < d.kv_lora; ++c)
                    acc += double(kb.f32[size_t((h * d.kv_lora + c) * d.qk_nope + j)]) * ckv[size_t(t * d.kv_lora + c)];
                k[size_t(t * d.qk_nope + j)] = acc;
            }
            for (int64_t j = 0; j < d.v_head; ++j) {
                double acc = 0;
                for (int64_t c = 0; c < d.kv_lora; ++c)
                    acc += double(vb.f32[size_t((h * d.v_head + j) * d.kv_lora + c)]) * ckv[size_t(t * d.kv_lora + c)];
                v[size_t(t * d.v_head + j)] = acc;
            }
        }
        for (int64_t i = 0; i < n; ++i) {
            const float* qi = &q[size_t((i * H + h) * qk)];
            const int64_t visible = pos0 + i + 1;
            double mx = -1e300;
            for (int64_t t = 0; t < visible; ++t) {
                double dot = 0;
                for (int64_t j = 0; j < d.qk_nope; ++j) dot += double(qi[j]) * k[size_t(t * d.qk_nope + j)];
                for (int64_t j = 0; j < d.qk_rope; ++j) dot += double(qi[d.qk_nope + j]) * kpe[size_t(t * d.qk_rope + j)];
                s[size_t(t)] = dot * scale;
                mx = std::max(mx, s[size_t(t)]);
            }
            double sum = 0;
            for (int64_t t = 0; t < visible; ++t) sum += (s[size_t(t)] = std::exp(s[size_t(t)] - mx));
            for (int64_t t = 0; t < visible; ++t)
                for (int64_t j = 0; j < d.v_head; ++j)
                    out[size_t((i * H + h) * d.v_head + j)] += s[size_t(t)] / sum * v[size_t(t * d.v_head + j)];
        }
    }
    return out;
}

void check_case(GgmlType type, int64_t n, int64_t pos0, int threads) {
    const MlaDims d{3, 64, 32, 16, 32};
    const int64_t n_kv = pos0 + n;
    const Stacked kb(type, d.n_head, d.kv_lora, d.qk_nope, 11), vb(type, d.n_head, d.v_head, d.kv_lora, 12);
    const auto q = random_floats(size_t(n * d.n_head * d.qk_head()), 13, 1.0f);
    const auto ckv = random_floats(size_t(n_kv * d.kv_lora), 14, 1.0f);
    const auto kpe = random_floats(size_t(n_kv * d.qk_rope), 15, 1.0f);
    const float scale = 1.0f / std::sqrt(float(d.qk_head()));

    const int scratch_threads = 2;
    std::vector<float> scratch(size_t(scratch_threads) * mla_prefill_scratch_floats(d, n));
    std::vector<float> out(size_t(n * d.n_head * d.v_head), 123.0f);
    MlaPrefillArgs a;
    a.dims = d;
    a.q = q.data();
    a.ckv = ckv.data();
    a.kpe = kpe.data();
    a.k_b = kb.view;
    a.v_b = vb.view;
    a.n = n;
    a.pos0 = pos0;
    a.kq_scale = scale;
    a.out = out.data();
    a.scratch = scratch.data();
    a.n_scratch_threads = scratch_threads;
    mla_prefill_attention(a, threads);

    const auto want = reference(d, q, ckv, kpe, kb, vb, n, pos0, scale);
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(double(out[i]) - want[i]));
    INFO(traits_of(type).name << " n " << n << " pos0 " << pos0 << " threads " << threads << ": max abs diff " << worst);
    CHECK(worst < 2e-4);
}

}  // namespace

TEST_CASE("non-absorbed MLA equals the textbook attention", "[prefill]") {
    // Batches within one key tile, across tiles (128 keys each), after a cached prefix, and with
    // more threads asked for than the scratch was planned for.
    for (int threads : {1, 2, 8}) {
        check_case(GgmlType::F32, 1, 0, threads);
        check_case(GgmlType::F32, 7, 0, threads);
        check_case(GgmlType::F32, 130, 0, threads);
        check_case(GgmlType::F32, 64, 200, threads);
    }
    check_case(GgmlType::Q8_0, 130, 5, 2);
    check_case(GgmlType::F16, 40, 127, 2);
}

TEST_CASE("the non-absorbed form is chosen for batches past the cost crossover", "[prefill]") {
    const MlaDims tiny{4, 128, 32, 16, 32}, v3{128, 512, 128, 64, 128};
    CHECK_FALSE(mla_prefill_pays_off(tiny, 1));
    CHECK_FALSE(mla_prefill_pays_off(v3, 1));
    CHECK(mla_prefill_pays_off(tiny, 130));
    CHECK(mla_prefill_pays_off(v3, 512));
    // Monotone in the batch size: one crossover each.
    for (const MlaDims& d : {tiny, v3}) {
        bool seen = false;
        for (int64_t n = 1; n <= 1024; ++n) {
            const bool now = mla_prefill_pays_off(d, n);
            CHECK((!seen || now));
            seen = seen || now;
        }
    }
}

TEST_CASE("all heads in one region equal one linear per head", "[prefill]") {
    const int64_t H = 5, rows = 32, cols = 64, n = 3;
    for (GgmlType type : {GgmlType::F32, GgmlType::Q8_0}) {
        const Stacked w(type, H, rows, cols, 21);
        const auto x = random_floats(size_t(n * H * cols), 22, 1.0f);
        std::vector<float> got(size_t(n * H * rows), -1.0f), want(got);
        std::vector<uint8_t> work(2 * 4096);
        const HeadProducts p{w.view, x.data(), H * cols, cols, got.data(), H * rows, rows, n, work.data(), 4096, 2};
        REQUIRE(run_head_products(p, 2));
        std::vector<uint8_t> act(linear_scratch_bytes(cols, n));
        for (int64_t hd = 0; hd < H; ++hd)
            linear(w.view.matrix(hd), x.data() + hd * cols, H * cols, n, want.data() + hd * rows, H * rows, {act.data(), act.size()}, 1);
        CHECK(got == want);
        // A work buffer too small for the activations is refused, not overrun.
        const HeadProducts tiny{w.view, x.data(), H * cols, cols, got.data(), H * rows, rows, n, work.data(), 8, 2};
        CHECK(run_head_products(tiny, 2) == (type == GgmlType::F32));
    }
}
