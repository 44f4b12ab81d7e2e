// linear(): the BLAS route for big f32 batches equals the kernel route; builds without BLAS and
// calls from inside a parallel region fall back to the kernels.
#include <catch2/catch.hpp>

#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu-kernels/matmul.h"
#include "lib/src/dense_gemm.h"
#include "lib/src/linear.h"
#include "quant/type_traits.h"

using namespace moecpu;

namespace {

struct Case {
    int64_t rows, k, n, x_stride, y_stride;
};

std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// The kernels' matmul driver alone (the route linear() takes for small batches).
void kernel_matmul(const WeightView& w, const float* x, int64_t x_stride, int64_t n, float* y, int64_t y_stride,
                   std::vector<uint8_t>& work) {
    work.resize(kernels::matmul_work_size(w.type, w.cols, n) + 64);
    kernels::matmul(matmul_args(w, x, x_stride, n, y, y_stride, work.data()), 2);
}

WeightView view_of(GgmlType type, const std::vector<uint8_t>& data, int64_t rows, int64_t k) {
    WeightView w;
    w.type = type;
    w.data = data.data();
    w.rows = rows;
    w.cols = k;
    w.row_bytes = row_size(type, k);
    w.mat_bytes = w.row_bytes * size_t(rows);
    return w;
}

}  // namespace

TEST_CASE("linear equals the kernel path for f32 weights at every batch size", "[linear]") {
    // Batches on both sides of the oneDNN threshold (128), odd shapes, strides.
    const Case cases[] = {{33, 70, 1, 70, 33},    {33, 70, 15, 71, 40},   {33, 70, 16, 70, 33},
                          {256, 512, 64, 520, 256}, {100, 300, 255, 300, 101}, {96, 256, 128, 256, 96},
                          {50, 130, 300, 133, 64}};
    for (const Case& c : cases) {
        const auto wf = random_floats(size_t(c.rows * c.k), 1);
        std::vector<uint8_t> wbytes(size_t(c.rows * c.k) * sizeof(float));
        std::memcpy(wbytes.data(), wf.data(), wbytes.size());
        const WeightView w = view_of(GgmlType::F32, wbytes, c.rows, c.k);
        const auto x = random_floats(size_t(c.n * c.x_stride), 2);
        std::vector<float> got(size_t(c.n * c.y_stride), -7.0f), want(got);
        std::vector<uint8_t> act(linear_scratch_bytes(c.k, c.n)), work;
        linear(w, x.data(), c.x_stride, c.n, got.data(), c.y_stride, {act.data(), act.size()}, 2);
        kernel_matmul(w, x.data(), c.x_stride, c.n, want.data(), c.y_stride, work);
        INFO("rows " << c.rows << " k " << c.k << " n " << c.n);
        // Sums of k products of unit normals: |y| ~ sqrt(k); f32 reorderings differ by ~k·eps.
        const double tol = 1e-5 * double(c.k);
        double worst = 0;
        for (int64_t t = 0; t < c.n; ++t)
            for (int64_t r = 0; r < c.y_stride; ++r) {
                const size_t i = size_t(t * c.y_stride + r);
                if (r >= c.rows) {
                    REQUIRE(got[i] == -7.0f);  // padding of the output rows is left alone
                    continue;
                }
                worst = std::max(worst, double(std::fabs(got[i] - want[i])));
            }
        INFO("max abs diff " << worst);
        CHECK(worst <= tol);
    }
}

TEST_CASE("quantized weights never leave the int8 kernels", "[linear]") {
    for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16, GgmlType::BF16})
        for (int64_t n : {1, 16, 64, 256, 1024}) CHECK_FALSE(dense_gemm_wins(t, n));
    CHECK_FALSE(dense_gemm_wins(GgmlType::F32, 1));
    CHECK(dense_gemm_wins(GgmlType::F32, 256) == bool(MOECPU_HAVE_BLAS));

    const int64_t rows = 40, k = 512, n = 64;
    const auto wf = random_floats(size_t(rows * k), 3);
    std::vector<uint8_t> q(row_size(GgmlType::Q4_K, k) * rows);
    traits_of(GgmlType::Q4_K).quantize(wf.data(), q.data(), rows, k, nullptr);
    const WeightView w = view_of(GgmlType::Q4_K, q, rows, k);
    const auto x = random_floats(size_t(n * k), 4);
    std::vector<float> got(size_t(n * rows)), want(got);
    std::vector<uint8_t> act(linear_scratch_bytes(k, n)), work;
    linear(w, x.data(), k, n, got.data(), rows, {act.data(), act.size()}, 2);
    kernel_matmul(w, x.data(), k, n, want.data(), rows, work);
    CHECK(got == want);
}

TEST_CASE("dense_gemm_f32 declines without BLAS and inside a parallel region", "[linear]") {
    const int64_t rows = 8, k = 16, n = 32;
    const auto w = random_floats(size_t(rows * k), 5), x = random_floats(size_t(n * k), 6);
    std::vector<float> y(size_t(n * rows));
    CHECK(dense_gemm_f32(x.data(), k, n, w.data(), k, rows, k, y.data(), rows, 2) == bool(MOECPU_HAVE_BLAS));
    int accepted_inside = 0;
#pragma omp parallel num_threads(2) reduction(+ : accepted_inside)
    {
        std::vector<float> mine(size_t(n * rows));
        accepted_inside += dense_gemm_f32(x.data(), k, n, w.data(), k, rows, k, mine.data(), rows, 1) ? 1 : 0;
    }
    CHECK(accepted_inside == 0);
}

TEST_CASE("dense_gemm_f32_nn multiplies row-major matrices with strides", "[linear]") {
    // Shapes of MLA decode's weighted sum: heads × positions times positions × latent, with the
    // probabilities and the cache both wider than what is used.
    const int64_t m = 6, k = 37, n = 24, a_stride = 50, b_stride = 30, c_stride = 28;
    const auto a = random_floats(size_t(m * a_stride), 7), b = random_floats(size_t(k * b_stride), 8);
    std::vector<float> c(size_t(m * c_stride), -7.0f);
    if (!dense_gemm_f32_nn(a.data(), a_stride, m, b.data(), b_stride, n, k, c.data(), c_stride, 2)) {
        CHECK_FALSE(bool(MOECPU_HAVE_BLAS));
        return;
    }
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            double want = 0;
            for (int64_t t = 0; t < k; ++t) want += double(a[size_t(i * a_stride + t)]) * b[size_t(t * b_stride + j)];
            CHECK(c[size_t(i * c_stride + j)] == Approx(want).margin(1e-4));
        }
        for (int64_t j = n; j < c_stride; ++j) CHECK(c[size_t(i * c_stride + j)] == -7.0f);  // outside: untouched
    }
}

TEST_CASE("dense_gemm_f32_serial runs inside a parallel region, one product per thread", "[linear]") {
    const int64_t rows = 8, k = 16, n = 32;
    const auto w = random_floats(size_t(rows * k), 9), x = random_floats(size_t(n * k), 10);
    std::vector<float> y[2] = {std::vector<float>(size_t(n * rows)), std::vector<float>(size_t(n * rows))};
    int accepted = 0;
#pragma omp parallel num_threads(2) reduction(+ : accepted)
    {
        const int ith = omp_get_thread_num();
        if (ith < 2) accepted += dense_gemm_f32_serial(x.data(), k, n, w.data(), k, rows, k, y[ith].data(), rows) ? 1 : 0;
    }
    if (!MOECPU_HAVE_BLAS) {
        CHECK(accepted == 0);
        return;
    }
    CHECK(accepted >= 1);
    for (int i = 0; i < accepted; ++i)
        for (int64_t t = 0; t < n; ++t)
            for (int64_t r = 0; r < rows; ++r) {
                double want = 0;
                for (int64_t c = 0; c < k; ++c) want += double(x[size_t(t * k + c)]) * w[size_t(r * k + c)];
                CHECK(y[i][size_t(t * rows + r)] == Approx(want).margin(1e-4));
            }
}
