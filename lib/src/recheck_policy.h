// When the expert prefetcher may skip re-checking the pages of an expert that already ran here.
// A check is a mincore() walk over the matrix's page table entries (3-10 µs per 8 MB matrix; 72
// per token on the 4-layer V3 test model, ~1400 on V3 itself), done serially while the other
// threads wait, and while the whole model stays in RAM it never finds anything. So after a run
// of kTrustAfter checks that found every page resident, and while the routing thread takes no
// major fault (a page read from disk on demand: something of ours was evicted), only every
// kCanaryEvery-th check runs. A canary that finds missing pages, or a major fault, brings back
// checking everything. What that costs when memory pressure starts: the unchecked evicted
// experts of about one layer are read on demand, page by page, instead of ahead.
#pragma once
#include <cstdint>

namespace moecpu {

class RecheckPolicy {
public:
    static constexpr int64_t kTrustAfter = 128;  // clean checks in a row before checks thin out
    static constexpr int64_t kCanaryEvery = 32;  // then one check in this many runs

    // Once per routing decision, with a major-fault count (getrusage) that only grows.
    void on_routing(uint64_t major_faults) {
        if (major_faults != last_major_faults_) clean_streak_ = 0;
        last_major_faults_ = major_faults;
    }

    // Whether the next ran-before expert matrix is to be checked.
    bool should_check() {
        if (clean_streak_ < kTrustAfter) return true;
        return ++skipped_ % kCanaryEvery == 0;
    }

    // The result of a check that ran: were pages missing?
    void on_checked(bool found_missing) { clean_streak_ = found_missing ? 0 : clean_streak_ + 1; }

    bool trusting() const { return clean_streak_ >= kTrustAfter; }

private:
    int64_t clean_streak_ = 0;
    uint64_t skipped_ = 0;
    uint64_t last_major_faults_ = 0;
};

}  // namespace moecpu
