// Evaluates one chunk of tokens with a fresh cache and returns the log-probabilities of the
// scored positions (the second half of the chunk, as llama.cpp's perplexity does: the first
// half only provides context).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "moecpu.h"

namespace moecpu::tools {

class ChunkScorer {
public:
    ChunkScorer(const std::string& model_path, int n_ctx, int n_threads, int n_batch);  // throws std::runtime_error
    ~ChunkScorer();
    ChunkScorer(const ChunkScorer&) = delete;
    ChunkScorer& operator=(const ChunkScorer&) = delete;

    int32_t n_vocab() const { return n_vocab_; }
    moecpu_token bos() const { return moecpu_model_bos(model_); }
    const moecpu_model* model() const { return model_; }
    // chunk: n_ctx tokens. Fills `logprobs` with rows [first, n_ctx - 1) ([n_scored][n_vocab]).
    void score(const std::vector<int32_t>& chunk, int first, std::vector<float>& logprobs);

private:
    moecpu_model* model_ = nullptr;
    moecpu_context* ctx_ = nullptr;
    int32_t n_vocab_ = 0;
};

}  // namespace moecpu::tools
