// The dense matmul driver against a naive loop: scalar table bit-exact, active table within the
// harness tolerance; 1 and 2 threads, inside and outside a parallel region.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <omp.h>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/matmul.h"
#include "driver_ref.h"

using namespace moecpu;
using namespace moecpu::kernels;
using namespace moecpu::kernel_checks;

namespace {

enum class Launch { Driver, InsideParallel, Phases };

void check_matmul(GgmlType wt, int64_t n_rows, int64_t n_blocks, int64_t n_tokens, int threads, Launch launch,
                  const KernelTable* table, uint64_t seed) {
    Rng rng(seed);
    const int64_t k = n_blocks * traits_of(wt).block_size;
    const std::vector<uint8_t> w = random_weights(wt, n_rows, k, rng);
    const int64_t x_stride = k + 3, y_stride = n_rows + 2;
    std::vector<float> x(static_cast<size_t>(n_tokens * x_stride));
    for (float& v : x) v = rng.uniform(-2, 2);
    const float sentinel = 777.0f;
    std::vector<float> y(static_cast<size_t>(n_tokens * y_stride), sentinel);
    std::vector<uint8_t> work(matmul_work_size(wt, k, n_tokens) + 1);

    MatmulArgs args;
    args.w_type = wt;
    args.w = w.data();
    args.w_row_bytes = row_size(wt, k);
    args.n_rows = n_rows;
    args.k = k;
    args.x = x.data();
    args.x_stride = x_stride;
    args.n_tokens = n_tokens;
    args.y = y.data();
    args.y_stride = y_stride;
    args.work = work.data();
    args.table = table;
    switch (launch) {
        case Launch::Driver: matmul(args, threads); break;
        case Launch::InsideParallel:
#pragma omp parallel num_threads(threads)
            matmul_thread(args, omp_get_thread_num(), omp_get_num_threads());
            break;
        case Launch::Phases:  // a pool with its own barrier, simulated sequentially
            for (int i = 0; i < threads; ++i) matmul_quantize(args, i, threads);
            for (int i = 0; i < threads; ++i) matmul_compute(args, i, threads);
            break;
    }

    const bool exact = table == scalar_table();
    const auto factors = magnitude_factors(wt, w.data(), n_rows, k);
    int bad = 0;
    std::string first;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const PreparedAct act = prepare_act(wt, x.data() + t * x_stride, k);
        for (int64_t r = 0; r < y_stride; ++r) {
            const float got = y[t * y_stride + r];
            bool ok;
            if (r >= n_rows) {
                ok = got == sentinel;
            } else {
                const float want = reference_dot(wt, w.data() + r * args.w_row_bytes, k, act);
                ok = exact ? got == want : std::fabs(got - want) <= 1e-5 * magnitude_of(factors[r], act) + 1e-30;
                if (!ok && bad == 0) first = "t=" + std::to_string(t) + " r=" + std::to_string(r) + " got=" +
                                             std::to_string(got) + " want=" + std::to_string(want);
            }
            if (!ok) ++bad;
        }
    }
    INFO(type_name(wt) << " rows=" << n_rows << " k=" << k << " tokens=" << n_tokens << " threads=" << threads
                       << " launch=" << int(launch) << " table=" << (table ? table->name : "active") << ": " << bad
                       << " bad, first " << first);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("matmul driver equals the naive loop", "[kernels][matmul]") {
    // Under qemu (MOECPU_TEST_EMULATED) this case runs some 200x slower than natively; the
    // driver is portable code checked in full on every native run, so emulation keeps a
    // smoke subset that still exercises the NEON tables through it.
    const bool emulated = std::getenv("MOECPU_TEST_EMULATED") != nullptr;
    uint64_t seed = 1;
    for (GgmlType wt : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16,
                        GgmlType::F32}) {
        const int64_t nb = traits_of(wt).block_size == 1 ? 96 : 2;
        for (const KernelTable* table : {scalar_table(), &active()}) {
            // Thread counts alternate over the token counts (1 and 130 run with both) to keep
            // the run short under qemu, where every OpenMP barrier is slow.
            if (emulated && table == scalar_table()) continue;
            for (int64_t n_tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 64, 130})
                for (int threads : {1, 2})
                    if (emulated ? (n_tokens == 9 && threads == 1)
                                 : (n_tokens == 1 || n_tokens == 130 || (n_tokens + threads) % 2 == 0))
                        check_matmul(wt, n_tokens > 9 ? 37 : 21, nb, n_tokens, threads, Launch::Driver, table, seed++);
            if (emulated) continue;
            check_matmul(wt, 100, nb, 5, 2, Launch::InsideParallel, table, seed++);
            check_matmul(wt, 3, nb, 1, 3, Launch::Phases, table, seed++);  // more threads than rows
            check_matmul(wt, 64, nb, 70, 5, Launch::Phases, table, seed++);
        }
    }
}
