#include "lib/src/page_cache_warmer.h"

#include <algorithm>
#include <utility>

namespace moecpu {

PageCacheWarmer::PageCacheWarmer(const MappedFile& file, std::vector<Range> ranges)
    : thread_([this, &file, ranges = std::move(ranges)] { run(file, ranges); }) {}

PageCacheWarmer::~PageCacheWarmer() {
    stop_.store(true, std::memory_order_relaxed);
    wait();
}

void PageCacheWarmer::wait() {
    if (thread_.joinable()) thread_.join();
}

void PageCacheWarmer::run(const MappedFile& file, const std::vector<Range>& ranges) {
    bool populate = true;  // until the kernel says it cannot: then read-ahead hints as before
    for (const Range& r : ranges) {
        for (uint64_t done = 0; done < r.length;) {
            if (stop_.load(std::memory_order_relaxed)) return;
            const uint64_t step = std::min(kStepBytes, r.length - done);
            if (populate) populate = file.populate_huge(r.offset + done, step);
            if (!populate) file.advise_willneed(r.offset + done, step);
            done += step;
        }
    }
}

}  // namespace moecpu
