// A weight matrix (or a stack of them) read in place from the mapped GGUF file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "quant/ggml_types.h"

namespace moecpu {

namespace gguf { struct TensorInfo; }

struct WeightView {
    GgmlType type = GgmlType::F32;
    const uint8_t* data = nullptr;
    int64_t cols = 0;       // ne[0]: elements per row (the reduction dimension of a matmul)
    int64_t rows = 0;       // ne[1]
    int64_t n_mat = 1;      // ne[2]: experts or heads stacked
    size_t row_bytes = 0;   // bytes between consecutive rows
    size_t mat_bytes = 0;   // bytes between consecutive matrices

    bool empty() const { return data == nullptr; }
    WeightView matrix(int64_t i) const {
        WeightView v = *this;
        v.data = data + size_t(i) * mat_bytes;
        v.n_mat = 1;
        return v;
    }
    WeightView row_range(int64_t first, int64_t count) const {
        WeightView v = *this;
        v.data = data + size_t(first) * row_bytes;
        v.rows = count;
        v.n_mat = 1;
        return v;
    }
};

WeightView make_weight_view(const gguf::TensorInfo& t);

}  // namespace moecpu
