// The MoE matmul driver against a naive per-(token, slot) loop: uneven expert loads, experts
// with no tokens, unused slots, shared and per-slot inputs, plain and fused gate+up.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <omp.h>

#include <cmath>

#include "cpu-kernels/dispatch.h"
#include "cpu-kernels/moe_matmul.h"
#include "driver_ref.h"

using namespace moecpu;
using namespace moecpu::kernels;
using namespace moecpu::kernel_checks;

namespace {

struct MoeCase {
    GgmlType wt;
    int64_t n_expert, n_rows, n_blocks, n_used, n_tokens;
    bool shared_input, fused;
    int threads;
    bool inside_parallel;
};

void check_moe(const MoeCase& c, const KernelTable* table, uint64_t seed) {
    Rng rng(seed);
    const int64_t k = c.n_blocks * traits_of(c.wt).block_size;
    const size_t row_bytes = row_size(c.wt, k), expert_bytes = row_bytes * size_t(c.n_rows);
    const std::vector<uint8_t> gate = random_weights(c.wt, c.n_expert * c.n_rows, k, rng);
    const std::vector<uint8_t> up = random_weights(c.wt, c.n_expert * c.n_rows, k, rng);

    // Skewed selection: expert 1 is popular, the last expert never chosen, some slots unused.
    std::vector<int32_t> ids(static_cast<size_t>(c.n_tokens * c.n_used));
    for (int64_t t = 0; t < c.n_tokens; ++t)
        for (int64_t s = 0; s < c.n_used; ++s) {
            const int roll = rng.range(0, 9);
            ids[t * c.n_used + s] = roll < 4 ? 1 : roll == 9 && s == c.n_used - 1 ? -1 : rng.range(0, int(c.n_expert) - 2);
        }

    const int64_t x_rows = c.shared_input ? c.n_tokens : c.n_tokens * c.n_used;
    std::vector<float> x(static_cast<size_t>(x_rows * k));
    for (float& v : x) v = rng.uniform(-2, 2);
    const float sentinel = -55.0f;
    const int64_t y_slot_stride = c.n_rows + 1, y_token_stride = c.n_used * y_slot_stride + 3;
    std::vector<float> y(static_cast<size_t>(c.n_tokens * y_token_stride), sentinel);

    MoeMatmulArgs a;
    a.w_type = c.wt;
    a.w = gate.data();
    a.w_up = c.fused ? up.data() : nullptr;
    a.w_row_bytes = row_bytes;
    a.w_expert_bytes = expert_bytes;
    a.n_expert = c.n_expert;
    a.n_rows = c.n_rows;
    a.k = k;
    a.ids = ids.data();
    a.ids_stride = c.n_used;
    a.n_used = c.n_used;
    a.n_tokens = c.n_tokens;
    a.x = x.data();
    a.x_token_stride = c.shared_input ? k : c.n_used * k;
    a.x_slot_stride = c.shared_input ? 0 : k;
    a.y = y.data();
    a.y_token_stride = y_token_stride;
    a.y_slot_stride = y_slot_stride;
    a.max_threads = c.threads;
    a.table = table;
    std::vector<uint8_t> work_storage(moe_matmul_work_size(a) + 64);
    a.work = work_storage.data() + (64 - reinterpret_cast<uintptr_t>(work_storage.data()) % 64) % 64;
    if (c.inside_parallel) {
#pragma omp parallel num_threads(c.threads)
        moe_matmul_thread(a, omp_get_thread_num(), omp_get_num_threads());
    } else {
        moe_matmul(a, c.threads);
    }

    const bool exact = table == scalar_table();
    const auto gate_factors = magnitude_factors(c.wt, gate.data(), c.n_expert * c.n_rows, k);
    const auto up_factors = magnitude_factors(c.wt, up.data(), c.n_expert * c.n_rows, k);
    int bad = 0;
    std::string first;
    for (int64_t t = 0; t < c.n_tokens; ++t)
        for (int64_t s = 0; s < c.n_used; ++s) {
            const int32_t e = ids[t * c.n_used + s];
            const PreparedAct act = prepare_act(c.wt, x.data() + t * a.x_token_stride + s * a.x_slot_stride, k);
            for (int64_t r = 0; r < y_slot_stride; ++r) {
                const float got = y[t * y_token_stride + s * y_slot_stride + r];
                bool ok;
                float want = sentinel;
                if (e < 0 || r >= c.n_rows) {
                    ok = got == sentinel;
                } else {
                    const size_t off = size_t(e) * expert_bytes + size_t(r) * row_bytes;
                    const size_t row_index = size_t(e * c.n_rows + r);
                    const double mg = magnitude_of(gate_factors[row_index], act);
                    const float g = reference_dot(c.wt, gate.data() + off, k, act);
                    want = g;
                    double tol = 1e-5 * mg;
                    if (c.fused) {
                        const double mu = magnitude_of(up_factors[row_index], act);
                        const float u = reference_dot(c.wt, up.data() + off, k, act);
                        scalar_table()->silu_mul(&g, &u, &want, 1);
                        // d(silu(g) u) <= |u| (1.1 dg) + |silu(g)| du
                        tol = 1.1 * std::fabs(u) * 1e-5 * mg + std::fabs(g) * 1e-5 * mu + 1e-5 * std::fabs(want);
                    }
                    ok = exact ? got == want : std::fabs(got - want) <= tol + 1e-30;
                }
                if (!ok && bad++ == 0)
                    first = "t=" + std::to_string(t) + " s=" + std::to_string(s) + " e=" + std::to_string(e) + " r=" +
                            std::to_string(r) + " got=" + std::to_string(got) + " want=" + std::to_string(want);
            }
        }
    INFO(type_name(c.wt) << " experts=" << c.n_expert << " rows=" << c.n_rows << " k=" << k << " used=" << c.n_used
                         << " tokens=" << c.n_tokens << " shared=" << c.shared_input << " fused=" << c.fused
                         << " threads=" << c.threads << " inside=" << c.inside_parallel
                         << " table=" << (table ? table->name : "active") << ": " << bad << " bad, first " << first);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("moe matmul equals the naive per-slot loop", "[kernels][moe]") {
    // Under qemu (MOECPU_TEST_EMULATED) a smoke subset only: see test_matmul.cpp.
    const bool emulated = std::getenv("MOECPU_TEST_EMULATED") != nullptr;
    uint64_t seed = 1;
    for (GgmlType wt : {GgmlType::Q4_K, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::F16}) {
        const int64_t nb = traits_of(wt).block_size == 1 ? 64 : 2;
        for (const KernelTable* table : {scalar_table(), &active()}) {
            if (emulated && table == scalar_table()) continue;
            for (int64_t n_tokens : {1, 2, 3, 9, 64, 130}) {
                if (emulated && n_tokens != 9) continue;
                for (bool fused : {false, true}) {
                    const bool shared = fused || n_tokens % 2 == 1;  // the down projection reads per-slot rows
                    const int threads = 1 + int((n_tokens + fused) % 2);  // both counts, alternating
                    check_moe({wt, 6, 37, nb, 3, n_tokens, shared, fused, threads, false}, table, seed++);
                }
            }
            if (emulated) continue;
            check_moe({wt, 8, 20, nb, 4, 7, true, true, 2, true}, table, seed++);    // inside a parallel region
            check_moe({wt, 5, 3, nb, 2, 4, false, false, 4, false}, table, seed++);  // more threads than rows
        }
    }
}

TEST_CASE("moe matmul: no valid slot at all writes nothing", "[kernels][moe]") {
    MoeMatmulArgs a;
    a.w_type = GgmlType::Q8_0;
    a.n_expert = 4;
    a.n_rows = 8;
    a.k = 32;
    a.w_row_bytes = row_size(GgmlType::Q8_0, 32);
    a.w_expert_bytes = a.w_row_bytes * 8;
    std::vector<uint8_t> w(a.w_expert_bytes * 4, 0);
    const int32_t ids[2] = {-1, -1};
    std::vector<float> x(64, 1.0f), y(16, 3.0f);
    a.w = w.data();
    a.ids = ids;
    a.ids_stride = 1;
    a.n_used = 1;
    a.n_tokens = 2;
    a.x = x.data();
    a.x_token_stride = 32;
    a.y = y.data();
    a.y_token_stride = 8;
    a.max_threads = 2;
    std::vector<uint8_t> work(moe_matmul_work_size(a));
    a.work = work.data();
    moe_matmul(a, 2);
    for (float v : y) CHECK(v == 3.0f);
}
