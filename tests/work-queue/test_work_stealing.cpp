// The matvec driver's stealing ranges: every item handed out exactly once whatever the number of
// threads (also fewer than ranges: an absent owner's range is stolen whole), owners take their own
// range front to back, thieves take runs from the back.
#include <catch2/catch.hpp>

#include <omp.h>

#include <vector>

#include "cpu-kernels/work_stealing.h"

using moecpu::kernels::Range;
using moecpu::kernels::StealingRanges;

TEST_CASE("stealing ranges hand out every item once", "[work_stealing]") {
    for (int64_t total : {0, 1, 2, 7, 64, 448, 12345})
        for (int ranges : {1, 2, 3, 8})
            for (int threads : {1, 2, 3, 8}) {
                StealingRanges split;
                split.reset(total, ranges);
                std::vector<int> taken(size_t(total), 0);
#pragma omp parallel num_threads(threads)
                {
                    Range run;
                    while (split.take(omp_get_thread_num(), run))
                        for (int64_t i = run.begin; i < run.end; ++i) {
#pragma omp atomic
                            ++taken[size_t(i)];
                        }
                }
                INFO("total " << total << ", ranges " << ranges << ", threads " << threads);
                for (int64_t i = 0; i < total; ++i) REQUIRE(taken[size_t(i)] == 1);
            }
}

TEST_CASE("stealing ranges: own range front to back, then the back of the fullest other", "[work_stealing]") {
    StealingRanges split;
    split.reset(1000, 2);  // [0, 500) and [500, 1000)
    Range run;
    int64_t next = 0;
    std::vector<int64_t> lengths;
    while (next < 500) {
        REQUIRE(split.take(0, run));
        CHECK(run.begin == next);  // contiguous, in order
        lengths.push_back(run.end - run.begin);
        next = run.end;
    }
    CHECK(lengths.front() == 62);  // an eighth of what is left
    CHECK(lengths.back() == 1);
    // Thread 0's range is empty: it steals from the back of thread 1's.
    REQUIRE(split.take(0, run));
    CHECK(run.end == 1000);
    CHECK(run.begin == 1000 - 500 / 8);
    // Thread 1 still starts at the front of its range.
    REQUIRE(split.take(1, run));
    CHECK(run.begin == 500);
}

TEST_CASE("stealing ranges: an owner beyond the ranges only steals", "[work_stealing]") {
    StealingRanges split;
    split.reset(10, 1);
    Range run;
    REQUIRE(split.take(5, run));
    CHECK(run.end == 10);
    CHECK(run.begin == 9);
}
