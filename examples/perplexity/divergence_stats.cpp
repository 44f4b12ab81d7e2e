#include "examples/perplexity/divergence_stats.h"

#include <algorithm>
#include <cmath>

namespace moecpu::tools {

void log_softmax(float* x, size_t n) {
    const float mx = *std::max_element(x, x + n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(double(x[i] - mx));
    const float log_sum = mx + float(std::log(sum));
    for (size_t i = 0; i < n; ++i) x[i] -= log_sum;
}

void DivergenceStats::add(const float* lp, const float* base_lp, size_t n_vocab, int32_t next_token) {
    nll_.push_back(-double(lp[next_token]));
    if (!base_lp) return;
    base_nll_.push_back(-double(base_lp[next_token]));
    double kl = 0;
    for (size_t i = 0; i < n_vocab; ++i) kl += std::exp(double(base_lp[i])) * (double(base_lp[i]) - double(lp[i]));
    kld_.push_back(std::max(0.0, kl));  // rounding can make a true 0 slightly negative
    top1_same_ += std::max_element(lp, lp + n_vocab) - lp == std::max_element(base_lp, base_lp + n_vocab) - base_lp;
}

namespace {
double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / double(v.size());
}
double stderr_of_mean(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    const double m = mean(v);
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    const size_t k = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k];
}
}  // namespace

DivergenceSummary DivergenceStats::summary() const {
    DivergenceSummary s;
    s.n = nll_.size();
    const double m = mean(nll_);
    s.ppl = std::exp(m);
    s.ppl_stderr = s.ppl * stderr_of_mean(nll_);  // first-order error propagation through exp
    s.has_base = !kld_.empty();
    if (!s.has_base) return s;
    s.base_ppl = std::exp(mean(base_nll_));
    s.kld_mean = mean(kld_);
    s.kld_stderr = stderr_of_mean(kld_);
    s.kld_p50 = percentile(kld_, 0.50);
    s.kld_p90 = percentile(kld_, 0.90);
    s.kld_p99 = percentile(kld_, 0.99);
    s.kld_max = *std::max_element(kld_.begin(), kld_.end());
    s.top1_agreement = double(top1_same_) / double(kld_.size());
    s.delta_logprob_mean = mean(base_nll_) - m;
    return s;
}

}  // namespace moecpu::tools
