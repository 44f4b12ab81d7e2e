#include "examples/bench/huge_pages.h"

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace moecpu::bench {

MappedPages mapped_pages_of(const std::string& path) {
    MappedPages pages;
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) return pages;
    const std::string target(resolved);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;  // the fields below the current mapping's header belong to the file
    while (std::getline(smaps, line)) {
        std::istringstream fields(line);
        std::string first;
        fields >> first;
        if (first.empty()) continue;
        if (first.back() != ':') {  // a mapping header: "start-end perms offset dev inode [path]"
            const size_t at = line.find('/');
            inside = at != std::string::npos && line.compare(at, std::string::npos, target) == 0;
            continue;
        }
        if (!inside) continue;
        uint64_t kib = 0;
        fields >> kib;
        if (first == "Rss:") pages.resident_bytes += kib << 10;
        else if (first == "FilePmdMapped:") pages.huge_bytes += kib << 10;
    }
    return pages;
}

}  // namespace moecpu::bench
