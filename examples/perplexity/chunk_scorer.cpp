#include "examples/perplexity/chunk_scorer.h"

#include <algorithm>
#include <stdexcept>

#include "examples/perplexity/divergence_stats.h"

namespace moecpu::tools {

namespace {
void check(moecpu_status st, const std::string& what) {
    if (st != MOECPU_OK) throw std::runtime_error(what + ": " + moecpu_last_error());
}
}  // namespace

ChunkScorer::ChunkScorer(const std::string& model_path, int n_ctx, int n_threads, int n_batch) {
    check(moecpu_model_load(model_path.c_str(), moecpu_model_default_params(), &model_), "loading " + model_path);
    moecpu_context_params p = moecpu_context_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = std::min(n_batch, n_ctx);
    p.n_threads = n_threads;
    p.logits_all = 1;
    check(moecpu_context_create(model_, p, &ctx_), "creating a context for " + model_path);
    n_vocab_ = moecpu_model_n_vocab(model_);
}

ChunkScorer::~ChunkScorer() {
    moecpu_context_free(ctx_);
    moecpu_model_free(model_);
}

void ChunkScorer::score(const std::vector<int32_t>& chunk, int first, std::vector<float>& logprobs) {
    check(moecpu_context_truncate(ctx_, 0), "clearing the context");
    check(moecpu_eval(ctx_, chunk.data(), chunk.size()), "evaluating a chunk");
    const size_t n_scored = chunk.size() - 1 - size_t(first);
    logprobs.resize(n_scored * size_t(n_vocab_));
    for (size_t j = 0; j < n_scored; ++j) {
        const float* row = moecpu_get_logits(ctx_, int32_t(size_t(first) + j));
        if (!row) throw std::runtime_error("no logits for position " + std::to_string(size_t(first) + j));
        float* out = &logprobs[j * size_t(n_vocab_)];
        std::copy(row, row + n_vocab_, out);
        log_softmax(out, size_t(n_vocab_));
    }
}

}  // namespace moecpu::tools
