// Runs a model over a calibration text in chunks of n_ctx tokens (fresh cache per chunk, as
// llama.cpp's imatrix tool does) with an ImatrixCollector installed, and returns the result.
#pragma once
#include <cstdio>
#include <string>

#include "examples/quantize/importance_matrix.h"

namespace moecpu::tools {

struct ImatrixRunOptions {
    std::string model_path;
    std::string text_path;
    int n_ctx = 512;
    int max_chunks = 0;   // 0: as many as the text holds
    int n_threads = 0;    // 0: all cores
    std::FILE* log = stderr;  // progress (null: none)
};

convert::ImportanceMatrix compute_imatrix(const ImatrixRunOptions& options);

}  // namespace moecpu::tools
