// Work stealing over contiguous ranges, for the matvec driver: thread i owns the i-th of n even
// ranges of [0, total) and takes its items front to back, so its weights stream as one long
// sequential read (what the hardware prefetcher wants; interleaved runs from one shared queue
// streamed 3-8 % less); a thread whose range is empty takes runs from the back of the fullest
// other range. A static split lets the slower thread decide when the product ends, and on this
// noisy host the two threads of a decode step's matvecs finished 4-23 % of their time apart.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>

#include "cpu-kernels/work_split.h"

namespace moecpu::kernels {

class StealingRanges {
public:
    static constexpr int kMaxRanges = 256;

    // Called before the threads take items (and ordered before them, e.g. by the region start).
    // n_ranges is clamped to [1, kMaxRanges]; a range whose owner never comes is stolen whole.
    void reset(int64_t total, int n_ranges) {
        n_ranges_ = std::clamp(n_ranges, 1, kMaxRanges);
        for (int r = 0; r < n_ranges_; ++r) {
            const Range s = split_evenly(total, r, n_ranges_);
            new (storage_ + size_t(r) * sizeof(Slot)) Slot{pack(uint64_t(s.begin), uint64_t(s.end))};
        }
    }

    // The next run for thread ith: from the front of its own range while it lasts, then from the
    // back of the fullest other range; false when every range is empty. Runs are an eighth of
    // what is left of the range (at least one item), so the last ones are single items.
    bool take(int ith, Range& run) {
        if (ith < n_ranges_ && take_front(slot(ith), run)) return true;
        for (;;) {
            int victim = -1;
            uint64_t most = 0;
            for (int r = 0; r < n_ranges_; ++r) {
                const uint64_t s = slot(r).load(std::memory_order_relaxed);
                if (back(s) > front(s) && back(s) - front(s) > most) most = back(s) - front(s), victim = r;
            }
            if (victim < 0) return false;
            if (take_back(slot(victim), run)) return true;
        }
    }

    // Largest total reset() accepts: front and back share one 64-bit word.
    static constexpr int64_t kMaxTotal = int64_t(UINT32_MAX);

private:
    static uint64_t pack(uint64_t front, uint64_t back) { return front | (back << 32); }
    static uint64_t front(uint64_t s) { return s & UINT32_MAX; }
    static uint64_t back(uint64_t s) { return s >> 32; }
    static uint64_t run_length(uint64_t s) { return std::max<uint64_t>(1, (back(s) - front(s)) / 8); }

    static bool take_front(std::atomic<uint64_t>& span, Range& run) {
        uint64_t s = span.load(std::memory_order_relaxed);
        while (front(s) < back(s)) {
            const uint64_t end = front(s) + run_length(s);
            if (span.compare_exchange_weak(s, pack(end, back(s)), std::memory_order_relaxed)) {
                run = {int64_t(front(s)), int64_t(end)};
                return true;
            }
        }
        return false;
    }

    // False when the range ran empty before the run could be taken.
    static bool take_back(std::atomic<uint64_t>& span, Range& run) {
        uint64_t s = span.load(std::memory_order_relaxed);
        while (front(s) < back(s)) {
            const uint64_t begin = back(s) - run_length(s);
            if (span.compare_exchange_weak(s, pack(front(s), begin), std::memory_order_relaxed)) {
                run = {int64_t(begin), int64_t(back(s))};
                return true;
            }
        }
        return false;
    }

    // One cache line per range: an owner's claims do not contend with the other owners'. Only the
    // slots in use are constructed (by reset): the object lives on the stack of every matvec.
    struct alignas(64) Slot {
        std::atomic<uint64_t> span;
    };
    std::atomic<uint64_t>& slot(int r) { return std::launder(reinterpret_cast<Slot*>(storage_ + size_t(r) * sizeof(Slot)))->span; }

    alignas(64) unsigned char storage_[kMaxRanges * sizeof(Slot)];
    int n_ranges_ = 0;
};

}  // namespace moecpu::kernels
