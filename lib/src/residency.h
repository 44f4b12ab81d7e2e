// Where a model's weights live in memory and how much of them is resident: the byte ranges of
// the routed expert tensors (per layer) and of everything else, measured with mincore(); plus
// the process's page-fault and disk-read counters.
#pragma once
#include <cstdint>
#include <vector>

namespace moecpu {

namespace gguf { class Reader; }

struct ByteRange {
    const uint8_t* begin = nullptr;
    uint64_t length = 0;
};

struct WeightRegions {
    std::vector<std::vector<ByteRange>> expert_by_layer;  // [n_layer]: ffn_{gate,up,down}_exps
    std::vector<ByteRange> expert;                        // all of the above
    std::vector<ByteRange> other;                         // every other tensor
    uint64_t expert_bytes = 0, other_bytes = 0;
};

// Splits the reader's tensors into routed-expert tensors ("blk.N.ffn_*_exps.weight") and the rest.
WeightRegions classify_weights(const gguf::Reader& reader, int64_t n_layer);

// Bytes of `ranges` whose pages are in RAM now (mincore; a resident page counts only the part
// of it inside the range, so neighbouring tensors sharing a page are not double counted).
uint64_t resident_bytes(const std::vector<ByteRange>& ranges);

// Process-wide counters (getrusage, /proc/self/io read_bytes; 0 where unavailable).
struct ProcessIo {
    uint64_t minor_faults = 0, major_faults = 0, disk_read_bytes = 0;
};
ProcessIo read_process_io();

}  // namespace moecpu
