// How much of a mapped file the kernel maps with 2 MiB pages. A model whose page cache folios are
// 2 MiB (a file written in large aligned pieces, as moe-quantize and moe-synth write) is mapped
// with 2 MiB pages and decodes faster than one read in 4 KiB pages (moe-bench reports which).
#pragma once
#include <cstdint>
#include <string>

namespace moecpu::bench {

struct MappedPages {
    uint64_t resident_bytes = 0;  // smaps Rss of every mapping of the file
    uint64_t huge_bytes = 0;      // of which mapped with 2 MiB pages (smaps FilePmdMapped)
};

// From /proc/self/smaps; zeros when the file is not mapped or smaps cannot be read.
MappedPages mapped_pages_of(const std::string& path);

}  // namespace moecpu::bench
