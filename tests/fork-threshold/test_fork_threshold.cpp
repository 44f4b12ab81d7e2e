// threads_for_work: the team size every forking call site of the forward takes from its work.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "cpu-kernels/fork_threshold.h"

using moecpu::kernels::kMinMultiplyAddsPerThread;
using moecpu::kernels::threads_for_work;

TEST_CASE("no work or no second thread: run on the caller", "[fork-threshold]") {
    for (int max_threads : {-1, 0, 1}) {
        CHECK(threads_for_work(0, max_threads) == 1);
        CHECK(threads_for_work(kMinMultiplyAddsPerThread * 100, max_threads) == 1);
    }
    for (int64_t work : {int64_t(-5), int64_t(0), int64_t(1)}) CHECK(threads_for_work(work, 8) == 1);
}

TEST_CASE("each forked thread gets at least the threshold", "[fork-threshold]") {
    const int64_t x = kMinMultiplyAddsPerThread;
    CHECK(threads_for_work(x - 1, 2) == 1);
    CHECK(threads_for_work(x, 2) == 1);  // one thread's worth stays on the caller
    CHECK(threads_for_work(2 * x - 1, 2) == 1);
    CHECK(threads_for_work(2 * x, 2) == 2);
    CHECK(threads_for_work(3 * x - 1, 4) == 2);
    CHECK(threads_for_work(3 * x, 4) == 3);
    for (int64_t work = 1; work < 20 * x; work += x / 3) {
        const int t = threads_for_work(work, 16);
        CHECK(work / t >= (t > 1 ? x : 0));
        CHECK((t == 16 || work / (t + 1) < x));  // one more thread would fall below the threshold
    }
}

TEST_CASE("large work is capped at the threads there are", "[fork-threshold]") {
    const int64_t huge = std::numeric_limits<int64_t>::max();
    CHECK(threads_for_work(huge, 2) == 2);
    CHECK(threads_for_work(huge, 64) == 64);
    CHECK(threads_for_work(1000 * kMinMultiplyAddsPerThread, 3) == 3);
    static_assert(threads_for_work(4 * kMinMultiplyAddsPerThread, 8) == 4);
}
