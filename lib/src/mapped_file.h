// A whole file held read-only in memory: either a read-only shared memory map (the default, so
// a model's weights are paged in on demand and shared between processes) or a private copy read
// into an aligned heap buffer (the `--no-mmap` path, for file systems where mmap is slow or absent).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moecpu {

class MappedFile {
public:
    enum class Mode { Map, ReadIntoMemory };

    // Mappings start with MADV_RANDOM (no read-ahead).
    // Throws Error(MOECPU_ERR_IO) naming the file when it cannot be opened, is not a regular
    // file, or cannot be mapped/read. An empty file succeeds with data() == nullptr, size() == 0.
    static std::unique_ptr<MappedFile> open(const std::string& path, Mode mode = Mode::Map);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    Mode mode() const { return mode_; }

    // Paging hints for [offset, offset + length) (clamped to the file); no-ops for heap copies.
    // They are only hints, so failures are ignored.
    void advise_willneed(uint64_t offset, uint64_t length) const;
    // WILLNEED for the pages of the range that are not in the page cache, found with mincore():
    // hinting resident pages costs a page-cache walk per page (~3 ms per 200 MB of experts), a
    // mincore() pass costs a small fraction of that. `page_flags` is caller-planned scratch of
    // `n_flags` bytes (any size >= 1; longer ranges are checked in pieces). Returns the bytes
    // hinted (0 when everything was resident).
    uint64_t advise_willneed_missing(uint64_t offset, uint64_t length, unsigned char* page_flags, size_t n_flags) const;
    static size_t page_size();
    void advise_random() const;  // mappings start in this mode (see open())
    void advise_normal() const;  // the kernel's default read-ahead
    // MADV_RANDOM on one range: page faults there read only the faulting page (no read-ahead).
    void advise_random(uint64_t offset, uint64_t length) const;

    // Reads the whole 2 MiB blocks of [offset, offset + length) into the page cache now
    // (blocking) and maps them, in 2 MiB folios where the kernel and file system allow
    // (MADV_HUGEPAGE, then MADV_POPULATE_READ): pages read by MADV_WILLNEED or by 4 KiB faults
    // stay 4 KiB folios, mapped with 4 KiB pages. The partial blocks at the ends are only hinted
    // (advise_willneed), so nothing outside the range is read. Returns false when the kernel
    // cannot populate (before Linux 5.14) or the read failed: the caller falls back to hints.
    bool populate_huge(uint64_t offset, uint64_t length) const;

    // Pins [offset, offset + length) in RAM. Returns false when the OS refuses (usually
    // RLIMIT_MEMLOCK); callers treat that as a warning, not an error.
    bool lock(uint64_t offset, uint64_t length) const;

private:
    MappedFile() = default;

    std::string path_;
    Mode mode_ = Mode::Map;
    uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
};

}  // namespace moecpu
