#include "lib/src/residency.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "lib/src/gguf.h"

namespace moecpu {

namespace {

// Layer index of "blk.N.ffn_{gate,up,down}_exps.weight", else -1.
int64_t expert_tensor_layer(const std::string& name) {
    if (name.rfind("blk.", 0) != 0 || name.find("_exps.") == std::string::npos) return -1;
    return std::strtoll(name.c_str() + 4, nullptr, 10);
}

}  // namespace

WeightRegions classify_weights(const gguf::Reader& r, int64_t n_layer) {
    WeightRegions w;
    w.expert_by_layer.resize(size_t(std::max<int64_t>(0, n_layer)));
    for (const gguf::TensorInfo& t : r.tensors()) {
        const ByteRange range{t.data, t.n_bytes};
        const int64_t il = expert_tensor_layer(t.name);
        if (il >= 0 && il < n_layer) {
            w.expert_by_layer[size_t(il)].push_back(range);
            w.expert.push_back(range);
            w.expert_bytes += t.n_bytes;
        } else {
            w.other.push_back(range);
            w.other_bytes += t.n_bytes;
        }
    }
    return w;
}

uint64_t resident_bytes(const std::vector<ByteRange>& ranges) {
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> vec;
    uint64_t total = 0;
    for (const ByteRange& r : ranges) {
        if (!r.begin || r.length == 0) continue;
        const uintptr_t begin = reinterpret_cast<uintptr_t>(r.begin), end = begin + r.length;
        const uintptr_t first = begin / page * page;
        const size_t n_pages = size_t((end - first + page - 1) / page);
        vec.resize(n_pages);
        if (::mincore(reinterpret_cast<void*>(first), size_t(end - first), vec.data()) != 0) continue;
        for (size_t i = 0; i < n_pages; ++i) {
            if (!(vec[i] & 1)) continue;
            const uintptr_t p0 = first + i * page, p1 = p0 + page;
            total += std::min<uintptr_t>(p1, end) - std::max<uintptr_t>(p0, begin);
        }
    }
    return total;
}

ProcessIo read_process_io() {
    ProcessIo io;
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
        io.minor_faults = uint64_t(ru.ru_minflt);
        io.major_faults = uint64_t(ru.ru_majflt);
    }
    if (FILE* f = std::fopen("/proc/self/io", "r")) {
        char line[128];
        while (std::fgets(line, sizeof(line), f)) {
            unsigned long long v = 0;
            if (std::sscanf(line, "read_bytes: %llu", &v) == 1) io.disk_read_bytes = v;
        }
        std::fclose(f);
    }
    return io;
}

}  // namespace moecpu
