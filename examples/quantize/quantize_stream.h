// The part of moe-quantize shared by both inputs (Hugging Face checkpoint, existing GGUF):
// given the output keys and every tensor's planned type, stream the tensors a chunk of rows at a
// time — read as float32 from the source, encoded on all OpenMP threads (with importance weights
// per column when an imatrix is given, per expert for merged expert tensors) — into a GGUF file
// that appears only when everything succeeded. Or, for --dry-run, only print the plan.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "lib/src/gguf.h"
#include "quant/ggml_types.h"

namespace moecpu::convert {

struct StreamTensor {
    std::string name;
    int n_dims = 0;
    int64_t ne[4] = {1, 1, 1, 1};
    GgmlType type = GgmlType::F32;         // stored type
    GgmlType wanted_type = GgmlType::F32;  // before the row-length fallback
    bool keep_f32 = false;
    // Bytes already in `type` (requantizing a GGUF tensor to its own type): copied as they are.
    const uint8_t* raw = nullptr;
    GgmlType source_type = GgmlType::F32;  // for the plan listing

    int64_t row_length() const { return ne[0]; }
    int64_t row_count() const { return ne[1] * ne[2] * ne[3]; }
    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    uint64_t n_bytes() const;
};

// Rows [row_begin, row_begin + n) of tensor `index` as float32 (the 2-D view: ne[0] columns).
// Called concurrently from several threads for disjoint rows.
using ReadRowsFn = std::function<void(size_t index, int64_t row_begin, int64_t n, float* out)>;
// Importance weights (ne[0] floats) for expert `expert` of tensor `name` (expert 0 for 2-D
// tensors), or null when there are none for it.
using ImportanceFn = std::function<const float*(const std::string& name, int64_t expert, int64_t n_per_row)>;

struct StreamOptions {
    bool dry_run = false;
    bool show_progress = true;
    std::FILE* log = stderr;     // messages, plan and summary (null: none)
    ImportanceFn importance;     // empty: no imatrix
};

struct StreamResult {
    uint64_t n_bytes = 0;        // tensor data bytes
    uint64_t n_weights = 0;      // elements
    size_t n_with_importance = 0;  // tensors quantized with importance weights
    double seconds = 0.0;
};

StreamResult write_gguf_streamed(const std::string& output_path, const std::vector<gguf::KeyValue>& kvs,
                                 const std::vector<StreamTensor>& tensors, const ReadRowsFn& read_rows,
                                 const StreamOptions& options);

// Encodes nrows rows of ncols floats in type t into dst (nrows * row_size(t, ncols) bytes),
// with per-column importance weights when `importance` is not null.
void encode_rows(GgmlType t, const float* src, int64_t nrows, int64_t ncols, uint8_t* dst, const float* importance);

}  // namespace moecpu::convert
