// The tensor-declaration rules shared by the GGUF reader and writer.
#include <limits>

#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu::gguf {

std::string check_tensor_shape(uint32_t type_id, uint32_t n_dims, const int64_t* ne,
                               uint64_t* n_bytes) {
    const TypeTraits* traits = type_traits(type_id);
    if (traits == nullptr || traits->block_size <= 0 || traits->type_size == 0) {
        return "unknown tensor type id " + std::to_string(type_id);
    }
    if (n_dims > static_cast<uint32_t>(kMaxDims)) {
        return std::to_string(n_dims) + " dimensions (at most " + std::to_string(kMaxDims) + " allowed)";
    }
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
        if (ne[d] <= 0) {
            return "dimension " + std::to_string(d) + " is " + std::to_string(ne[d]) + " (must be positive)";
        }
        if (n_elements > kMax / ne[d]) return "element count overflows int64";
        n_elements *= ne[d];
    }
    const int64_t row = n_dims > 0 ? ne[0] : 1;
    if (row % traits->block_size != 0) {
        return "row length " + std::to_string(row) + " is not a multiple of the " + traits->name +
               " block size " + std::to_string(traits->block_size);
    }
    const uint64_t n_blocks = static_cast<uint64_t>(n_elements / traits->block_size);
    if (n_blocks > static_cast<uint64_t>(kMax) / traits->type_size) return "byte size overflows int64";
    *n_bytes = n_blocks * traits->type_size;
    return "";
}

}  // namespace moecpu::gguf
