// The background reader of the non-expert weights: it reads exactly the ranges it is given (the
// whole 2 MiB blocks inside them at once, the edges as hints), and a warmer destroyed while it
// is still reading stops cleanly.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "lib/src/mapped_file.h"
#include "lib/src/page_cache_warmer.h"
#include "lib/src/residency.h"
#include "tests/gguf/gguf_test_util.h"

using namespace moecpu;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Drops the file from the page cache; false where that is not possible (tmpfs, sanitizers'
// shadow mappings do not matter here).
bool drop_from_page_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    ::fsync(fd);
    const bool dropped = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    ::close(fd);
    return dropped;
}

// qemu-user on the CI host never returns from joining a second thread (OpenMP's teams hang the
// same way, hence OMP_THREAD_LIMIT=1 there): the warmer's thread is not run under emulation.
bool emulated() {
    if (std::getenv("MOECPU_TEST_EMULATED") == nullptr) return false;
    WARN("emulated (MOECPU_TEST_EMULATED): a second thread would hang qemu-user; skipped");
    return true;
}

uint64_t resident(const MappedFile& f, uint64_t offset, uint64_t length) {
    return resident_bytes({ByteRange{f.data() + offset, length}});
}

}  // namespace

TEST_CASE("page cache warmer reads its ranges and nothing between them", "[residency]") {
    if (emulated()) return;
    test::TempDir dir;
    const std::string path = dir.file("weights.bin");
    test::write_file_bytes(path, std::vector<uint8_t>(size_t(13 * kMiB + 123), 7));
    const bool dropped = drop_from_page_cache(path);
    const auto file = MappedFile::open(path);
    const uint64_t page = MappedFile::page_size();

    // Two ranges with unaligned ends, one spanning several 2 MiB blocks, one shorter than a block.
    const PageCacheWarmer::Range a{3 * page + 5, 6 * kMiB}, b{9 * kMiB + 17, kMiB};
    const uint64_t gap_begin = a.offset + a.length + 2 * page, gap_end = b.offset - 2 * page;
    const bool gap_was_resident = resident(*file, gap_begin, gap_end - gap_begin) > 0;
    {
        PageCacheWarmer warmer(*file, {a, b});
        warmer.wait();
    }
    // The whole 2 MiB blocks of `a` are read synchronously (where MADV_POPULATE_READ exists);
    // the edges were only hinted, so they may still be on their way.
    const uint64_t huge_begin = (uint64_t(uintptr_t(file->data())) + a.offset + 2 * kMiB - 1) / (2 * kMiB) * (2 * kMiB) -
                                uint64_t(uintptr_t(file->data()));
    const uint64_t block = resident(*file, huge_begin, 2 * kMiB);
    if (block == 0 && resident(*file, a.offset, a.length) == 0) {
        // qemu-user acknowledges madvise() hints without passing them on: nothing was read.
        WARN("madvise(MADV_POPULATE_READ / MADV_WILLNEED) had no effect here (emulator?): reads not checked");
    } else {
        CHECK(block == 2 * kMiB);
    }
    if (dropped && !gap_was_resident) CHECK(resident(*file, gap_begin, gap_end - gap_begin) == 0);
}

TEST_CASE("page cache warmer destroyed while reading stops and joins", "[residency]") {
    if (emulated()) return;
    test::TempDir dir;
    const std::string path = dir.file("weights.bin");
    test::write_file_bytes(path, std::vector<uint8_t>(size_t(70 * kMiB), 1));
    drop_from_page_cache(path);
    const auto file = MappedFile::open(path);
    for (int i = 0; i < 3; ++i) PageCacheWarmer warmer(*file, {{0, file->size()}});  // destroyed at once
    PageCacheWarmer empty(*file, {});
    empty.wait();
    SUCCEED();
}
