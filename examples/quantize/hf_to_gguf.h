// Hugging Face DeepSeek-V2/V3 checkpoint -> GGUF file, streamed: the plan is made and checked
// from headers first; then each tensor is read a chunk of rows at a time (converted to float32,
// FP8 dequantized), encoded in its planned type and appended to the output. Memory stays at a
// few chunks whatever the model size. The output appears only when everything succeeded (the
// GGUF writer renames a temporary file at the end); on any error nothing is left behind.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "examples/quantize/quantize_stream.h"

namespace moecpu::convert {

class TensorTypePolicy;
struct PlannedTensor;
class HfCheckpoint;

struct ConvertOptions {
    std::string input_dir;
    std::string output_path;
    std::string model_name;     // general.name; default: the input directory's name
    std::string tokenizer_pre;  // tokenizer.ggml.pre override; default: recognised from tokenizer.json
    bool show_progress = true;
    bool dry_run = false;     // print the plan and totals; write nothing
    ImportanceFn importance;  // imatrix weights (empty: none)
    std::FILE* log = stderr;  // informational messages (null: none)
};

struct ConvertResult {
    size_t n_tensors = 0;
    uint64_t n_bytes = 0;  // tensor data bytes written
    std::vector<std::string> notes;
};

ConvertResult convert_hf_to_gguf(const ConvertOptions& options, const TensorTypePolicy& policy);

// Rows [row_begin, row_begin + n) of planned tensor `t` (its 2-D view: ne[0] columns,
// ne[1] * ne[2] rows) as float32. Exposed for tests.
void read_planned_rows(const HfCheckpoint& ckpt, const PlannedTensor& t, int64_t row_begin, int64_t n, float* out);

}  // namespace moecpu::convert
