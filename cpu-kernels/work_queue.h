// Guided self-scheduling for the matmul drivers: threads take runs of [0, total) from one shared
// counter, each run a share of what is left (so the first runs are long and contiguous, which
// keeps weight streaming sequential, and the last are short, so whichever thread is ahead takes
// them). With a static split, the thread that starts late or streams slower (the host is noisy)
// decides when a phase ends; here the other one finishes its work.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cpu-kernels/work_split.h"

namespace moecpu::kernels {

class GuidedQueue {
public:
    // Called once before the threads take runs (and ordered before them, e.g. by a barrier).
    void reset() { next_.store(0, std::memory_order_relaxed); }

    // The next run of [0, total) for one of nth threads; false when nothing is left. Runs are at
    // least min_run long (except the last), which bounds the atomic traffic.
    bool take(int64_t total, int nth, int64_t min_run, Range& run) {
        int64_t begin = next_.load(std::memory_order_relaxed);
        for (;;) {
            if (begin >= total) return false;
            const int64_t len = std::max((total - begin) / (2 * int64_t(nth)), std::max<int64_t>(min_run, 1));
            const int64_t end = std::min(total, begin + len);
            if (next_.compare_exchange_weak(begin, end, std::memory_order_relaxed)) {
                run = {begin, end};
                return true;
            }
        }
    }

private:
    std::atomic<int64_t> next_{0};
};

}  // namespace moecpu::kernels
