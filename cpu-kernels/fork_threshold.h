// When a parallel region pays off: the one rule every forking call site of the forward uses to
// size its team from the work it is about to do, so small operations run on the calling thread.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace moecpu::kernels {

// Multiply-adds each thread of a team must get before forking that team pays off. On the
// 2-vCPU AVX-512 EPYC a region's start + join costs the caller ~1-2 µs (the vCPUs are far
// apart: ~390 ns per cache-line round trip) while one thread does ~46 G multiply-adds/s on the
// tiny models' quantized matvecs, so a 2-way split of 128 K each saves ~1.4 µs per thread: about
// break-even. Measured (moe-bench tiny-MOE_Q2_K / Q4_K decode, 2 threads, chrt -f 10, this value
// swept): 64 K-256 K within noise of each other and best; 16 K 5-20 % slower, 1 (every region
// forks) 15-45 % slower; 512 K and up keep the MoE layer on one thread, 20 % slower when the
// second vCPU is responsive. DeepSeek-V3's products (millions of multiply-adds) always fork.
constexpr int64_t kMinMultiplyAddsPerThread = 128 * 1024;

// Threads worth forking for `multiply_adds` of work that splits evenly: as many as each get at
// least kMinMultiplyAddsPerThread, at most max_threads, at least 1 (1 = run it on the calling
// thread, opening no region at all).
constexpr int threads_for_work(int64_t multiply_adds, int max_threads) {
    if (max_threads <= 1 || multiply_adds <= 0) return 1;
    return int(std::clamp<int64_t>(multiply_adds / kMinMultiplyAddsPerThread, 1, max_threads));
}

// Runs work(ith, nth) on a team of n_threads (nth: the size the team really got), or directly on
// the calling thread as work(0, 1) when n_threads <= 1: a team of one still pays for a region.
template <class Work>
void run_on_team(int n_threads, Work&& work) {
    if (n_threads <= 1) {
        work(0, 1);
        return;
    }
#pragma omp parallel num_threads(n_threads)
    work(omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace moecpu::kernels
