// Importance matrices (imatrix): for each matmul weight, the sum over tokens of the squared input
// activation per input column, and how many tokens were summed — per expert for merged expert
// tensors, where each expert only counts the tokens routed to it. Quantization weighs each
// column's rounding error by the mean (sum / count), so the columns that carry large
// activations are reproduced more closely.
//
// Two file layouts, as llama.cpp's tools/imatrix writes them:
//  - GGUF (current): general.type = "imatrix", imatrix.datasets (string array),
//    imatrix.chunk_count and imatrix.chunk_size (u32); per weight `<name>.in_sum2`, F32
//    [n_per_row, n_mat], and `<name>.counts`, F32 [1, n_mat].
//  - .dat (older): i32 entry count; per entry i32 name length, the name, i32 ncall, i32 nval,
//    nval floats = mean squared activation * ncall (experts one after another); then i32 chunk
//    count, i32 length and the dataset name.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moecpu::convert {

struct ImportanceEntry {
    int64_t n_per_row = 0;    // input columns of the weight
    int64_t n_mat = 1;        // experts (1 for a plain matrix)
    std::vector<float> sums;  // [n_mat][n_per_row] sum of squared activations
    std::vector<float> counts;  // [n_mat] tokens summed
    std::vector<float> mean;    // [n_mat][n_per_row] sums / counts (filled by finalize())
};

struct ImportanceMatrix {
    std::map<std::string, ImportanceEntry> entries;  // by weight name, e.g. "blk.3.ffn_up_exps.weight"
    std::vector<std::string> datasets;
    uint32_t chunk_count = 0;
    uint32_t chunk_size = 0;

    // Recomputes every entry's mean; call after changing sums or counts.
    void finalize();
    // The n_per_row mean squared activations of expert `expert` of `name` (0 for a plain
    // matrix); null when the weight is absent, its size does not fit n_per_row, or that expert
    // saw no token. Thread-safe after finalize().
    const float* weights(const std::string& name, int64_t expert, int64_t n_per_row) const;
};

// Reads either layout (a GGUF file is recognised by its magic); the result is finalized.
// Throws Error(BAD_FORMAT) naming the file and the problem.
ImportanceMatrix read_importance_matrix(const std::string& path);
// GGUF layout, written atomically.
void write_importance_matrix(const std::string& path, const ImportanceMatrix& m);
// The older .dat layout.
void write_importance_matrix_dat(const std::string& path, const ImportanceMatrix& m);

}  // namespace moecpu::convert
