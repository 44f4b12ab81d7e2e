// The guided work queue of the matmul drivers: every item handed out exactly once, whatever the
// number of threads taking runs, runs no shorter than asked (but the last), longest first.
#include <catch2/catch.hpp>

#include <omp.h>

#include <vector>

#include "cpu-kernels/work_queue.h"

using moecpu::kernels::GuidedQueue;
using moecpu::kernels::Range;

TEST_CASE("guided queue hands out every item once", "[work_queue]") {
    for (int64_t total : {0, 1, 2, 7, 64, 1000, 12345})
        for (int threads : {1, 2, 3, 8})
            for (int64_t min_run : {1, 5, 100}) {
                GuidedQueue queue;
                queue.reset();
                std::vector<int> taken(size_t(total), 0);
                bool runs_ok = true;
#pragma omp parallel num_threads(threads)
                {
                    Range run;
                    while (queue.take(total, threads, min_run, run)) {
                        if (run.end - run.begin < min_run && run.end != total) runs_ok = false;
                        for (int64_t i = run.begin; i < run.end; ++i) {
#pragma omp atomic
                            ++taken[size_t(i)];
                        }
                    }
                }
                INFO("total " << total << ", threads " << threads << ", min_run " << min_run);
                CHECK(runs_ok);
                for (int64_t i = 0; i < total; ++i) REQUIRE(taken[size_t(i)] == 1);
            }
}

TEST_CASE("guided queue: long runs first, reset starts over", "[work_queue]") {
    GuidedQueue queue;
    queue.reset();
    Range run;
    std::vector<int64_t> lengths;
    while (queue.take(1000, 2, 4, run)) lengths.push_back(run.end - run.begin);
    REQUIRE(lengths.size() > 2);
    CHECK(lengths.front() == 250);  // a quarter of what is left for 2 threads
    for (size_t i = 1; i < lengths.size(); ++i) CHECK(lengths[i] <= lengths[i - 1]);
    CHECK_FALSE(queue.take(1000, 2, 4, run));
    queue.reset();
    REQUIRE(queue.take(1000, 2, 4, run));
    CHECK(run.begin == 0);
}
