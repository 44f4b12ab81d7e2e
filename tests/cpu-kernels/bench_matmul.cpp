// Hidden benchmark (run: test_kernels "[.bench]"): matvec and a small prefill through the
// drivers against the bare mat_tile loop, to show the drivers add no overhead.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/matmul.h"
#include "cpu-kernels/moe_matmul.h"
#include "driver_ref.h"

using namespace moecpu;
using namespace moecpu::kernels;
using namespace moecpu::kernel_checks;

namespace {

template <class F>
double best_seconds(int reps, F&& f) {
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

}  // namespace

TEST_CASE("bench: matvec and prefill drivers", "[.bench]") {
    const KernelTable& t = active();
    for (GgmlType wt : {GgmlType::Q4_K, GgmlType::Q4_0, GgmlType::Q8_0}) {
        const int64_t n_rows = 2048, k = 7168;
        Rng rng(1);
        const std::vector<uint8_t> w = random_weights(wt, n_rows, k, rng);
        const size_t rb = row_size(wt, k);
        const double mb = double(rb) * n_rows / 1e6;
        for (int64_t n_tokens : {1, 32}) {
            std::vector<float> x(static_cast<size_t>(n_tokens * k)), y(static_cast<size_t>(n_tokens * n_rows));
            for (float& v : x) v = rng.uniform(-1, 1);
            std::vector<uint8_t> work(matmul_work_size(wt, k, n_tokens));
            MatmulArgs a;
            a.w_type = wt; a.w = w.data(); a.w_row_bytes = rb; a.n_rows = n_rows; a.k = k;
            a.x = x.data(); a.x_stride = k; a.n_tokens = n_tokens; a.y = y.data(); a.y_stride = n_rows;
            a.work = work.data();
            matmul_quantize(a, 0, 1);
            // Bare kernel: the same tiles, no driver.
            const double bare = best_seconds(5, [&] {
                for (int64_t r0 = 0; r0 < n_rows; r0 += kTileRows)
                    t.mat_tile[static_cast<int>(wt)](k, w.data() + r0 * rb, rb, kTileRows, work.data(), act_row_bytes(wt, k),
                                                     int(n_tokens), y.data() + r0, size_t(n_rows));
            });
            for (int threads : {1, 2}) {
                const double s = best_seconds(5, [&] { matmul(a, threads); });
                std::printf("%-5s %s rows=%lld k=%lld tokens=%-3lld threads=%d: driver %.2f ms (%.1f GB/s), bare tile loop %.2f ms\n",
                            t.name, type_name(wt), (long long)n_rows, (long long)k, (long long)n_tokens, threads, s * 1e3,
                            mb / s / 1e3, bare * 1e3);
            }
        }
    }
}

// Compute speed of the active table's mat_tile with the weights in L2 (256 rows × 2048, about
// 0.3 MB for the K-quants), every row through 16-row tiles: the figure the AVX2 batched path's
// README table reports (run: test_kernels "[.tile-bench]"; MOECPU_ISA picks the table). Median of
// 15 rounds of 20 passes.
TEST_CASE("bench: mat_tile compute, weights in L2", "[.tile-bench]") {
    const KernelTable& t = active();
    const int64_t n_rows = 256, k = 2048;
    for (GgmlType wt : {GgmlType::Q4_K, GgmlType::Q3_K, GgmlType::Q2_K, GgmlType::Q6_K, GgmlType::Q5_K}) {
        Rng rng(1);
        const std::vector<uint8_t> w = random_weights(wt, n_rows, k, rng);
        const size_t rb = row_size(wt, k);
        for (int n_tokens : {1, 8, 16, 64}) {
            std::vector<float> x(static_cast<size_t>(n_tokens * k)), y(static_cast<size_t>(n_tokens * n_rows));
            for (float& v : x) v = rng.uniform(-1, 1);
            std::vector<uint8_t> work(matmul_work_size(wt, k, n_tokens));
            MatmulArgs a;
            a.w_type = wt; a.w = w.data(); a.w_row_bytes = rb; a.n_rows = n_rows; a.k = k;
            a.x = x.data(); a.x_stride = k; a.n_tokens = n_tokens; a.y = y.data(); a.y_stride = n_rows;
            a.work = work.data();
            matmul_quantize(a, 0, 1);
            auto pass = [&] {
                for (int64_t r0 = 0; r0 < n_rows; r0 += kTileRows)
                    t.mat_tile[static_cast<int>(wt)](k, w.data() + r0 * rb, rb, kTileRows, work.data(), act_row_bytes(wt, k),
                                                     n_tokens, y.data() + r0, size_t(n_rows));
            };
            for (int i = 0; i < 20; ++i) pass();
            std::vector<double> rounds;
            for (int r = 0; r < 15; ++r) rounds.push_back(best_seconds(1, [&] { for (int i = 0; i < 20; ++i) pass(); }) / 20);
            std::sort(rounds.begin(), rounds.end());
            const double s = rounds[rounds.size() / 2];
            std::printf("%-6s %-5s n=%-3d %7.1f GFLOP/s  %5.1f GB/s of weights\n", t.name, type_name(wt), n_tokens,
                        2.0 * double(n_rows) * double(k) * n_tokens / s / 1e9, double(rb) * double(n_rows) / s / 1e9);
        }
    }
}
