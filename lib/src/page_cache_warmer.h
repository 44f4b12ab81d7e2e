// Reads the weights every token needs (the non-expert tensors) into the page cache on a
// background thread right after a model is loaded, so load returns at once and the first token
// finds them in memory. It reads with MappedFile::populate_huge, not MADV_WILLNEED: pages read
// ahead by WILLNEED land in 4 KiB folios and stay mapped with 4 KiB pages, which decodes ~12 %
// slower than 2 MiB pages (README "Memory").
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "lib/src/mapped_file.h"

namespace moecpu {

class PageCacheWarmer {
public:
    struct Range {
        uint64_t offset, length;  // in the file
    };
    // Starts reading `ranges` of `file` in order; `file` must outlive the warmer.
    PageCacheWarmer(const MappedFile& file, std::vector<Range> ranges);
    // Stops at the next step (at most kStepBytes more are read) and joins the thread.
    ~PageCacheWarmer();
    PageCacheWarmer(const PageCacheWarmer&) = delete;
    PageCacheWarmer& operator=(const PageCacheWarmer&) = delete;

    void wait();  // until every range is read (tests)

    // Each populate call reads at most this much, so a model freed while its weights are still
    // being read waits for one step, not for the whole file.
    static constexpr uint64_t kStepBytes = uint64_t{32} << 20;

private:
    void run(const MappedFile& file, const std::vector<Range>& ranges);

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace moecpu
