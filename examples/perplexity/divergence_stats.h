// Per-position statistics of a model's predictions, optionally against a base model's:
// perplexity, KL divergence (mean and percentiles), top-1 agreement, Δ log-probability.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace moecpu::tools {

// In place: logits → log-probabilities (log-softmax) over n values.
void log_softmax(float* x, size_t n);

struct DivergenceSummary {
    size_t n = 0;
    double ppl = 0, ppl_stderr = 0;
    bool has_base = false;
    double base_ppl = 0;
    double kld_mean = 0, kld_stderr = 0, kld_p50 = 0, kld_p90 = 0, kld_p99 = 0, kld_max = 0;
    double top1_agreement = 0;
    double delta_logprob_mean = 0;  // mean of log p(token) - log p_base(token)
};

class DivergenceStats {
public:
    // One scored position: log-probabilities of the model (and the base, or null) and the true next token.
    void add(const float* logprobs, const float* base_logprobs, size_t n_vocab, int32_t next_token);
    DivergenceSummary summary() const;

private:
    std::vector<double> nll_, base_nll_, kld_;
    size_t top1_same_ = 0;
};

}  // namespace moecpu::tools
