// Existing GGUF -> GGUF in other tensor types (requantization): every key is copied (with
// general.file_type and general.quantization_version updated), each tensor's type chosen by the
// same policy as for a Hugging Face input, rows dequantized to float32 and encoded again; a
// tensor already in its chosen type is copied byte for byte. Re-encoding a tensor that is
// already quantized into a *different* quantized type compounds two rounding errors, so it is
// refused unless allow_requantize is set.
#pragma once
#include <cstdio>
#include <string>

#include "examples/quantize/hf_to_gguf.h"

namespace moecpu::convert {

class TensorTypePolicy;

struct RequantizeOptions {
    std::string input_path;
    std::string output_path;
    bool allow_requantize = false;
    bool dry_run = false;
    bool show_progress = true;
    std::FILE* log = stderr;
    ImportanceFn importance;
};

ConvertResult requantize_gguf(const RequantizeOptions& options, const TensorTypePolicy& policy);

}  // namespace moecpu::convert
