// Accumulates an importance matrix while the model runs: installed as the library's
// ActivationObserver, it recognises each matmul's weight by its address in the mapped GGUF file
// and adds every input row's squared activations to that weight's per-column sums. Stacked
// tensors (routed experts, per-head attn_k_b / attn_v_b) keep one sum and one token count per
// matrix, so an expert only counts the tokens routed to it.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "examples/quantize/importance_matrix.h"
#include "lib/src/activation_observer.h"
#include "lib/src/gguf.h"

namespace moecpu::tools {

class ImatrixCollector : public ActivationObserver {
public:
    // Watches every matrix weight (2-D or more, named *.weight) among `tensors`, whose data
    // pointers are the ones the model multiplies with.
    explicit ImatrixCollector(const std::vector<gguf::TensorInfo>& tensors);

    void observe(const WeightView& w, const float* x, int64_t x_stride, int64_t n_tokens) override;

    // The weights seen at least once, with their sums and counts (finalized).
    convert::ImportanceMatrix result() const;
    // Tokens counted for matrix `mat` of `name` so far (0 if unknown).
    double count(const std::string& name, int64_t mat) const;

private:
    struct Watched {
        const uint8_t* begin = nullptr;
        const uint8_t* end = nullptr;
        std::string name;
        int64_t n_per_row = 0;
        int64_t n_mat = 1;
        size_t mat_bytes = 0;
        std::vector<double> sums;    // [n_mat][n_per_row]
        std::vector<double> counts;  // [n_mat]
        bool seen = false;
    };
    std::vector<Watched> watched_;  // sorted by begin
    mutable std::mutex mutex_;
};

}  // namespace moecpu::tools
