#include "lib/src/sampler.h"

#include <algorithm>
#include <cmath>

namespace moecpu {

namespace {
uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Rng::reseed(uint64_t seed) {
    for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

Sampler::Sampler(int32_t n_vocab, const SamplerConfig& config)
    : config_(config), rng_(config.seed), cands_(size_t(n_vocab)), penalized_(size_t(n_vocab), 0) {}

void Sampler::set_config(const SamplerConfig& config) {
    config_ = config;
    rng_.reseed(config.seed);
}

int32_t Sampler::sample(const float* logits, std::span<const int32_t> history) {
    const size_t n_vocab = cands_.size();
    size_t n = n_vocab;
    for (size_t i = 0; i < n; ++i) cands_[i] = {int32_t(i), logits[i], 0.0f};

    if (config_.repeat_penalty != 1.0f && config_.repeat_last_n != 0) {
        const size_t look = config_.repeat_last_n < 0 ? history.size()
                                                      : std::min(history.size(), size_t(config_.repeat_last_n));
        const auto recent = history.subspan(history.size() - look);
        for (int32_t t : recent) {
            if (t < 0 || size_t(t) >= n_vocab || penalized_[size_t(t)]) continue;
            penalized_[size_t(t)] = 1;
            float& l = cands_[size_t(t)].logit;
            l = l > 0 ? l / config_.repeat_penalty : l * config_.repeat_penalty;
        }
        for (int32_t t : recent)
            if (t >= 0 && size_t(t) < n_vocab) penalized_[size_t(t)] = 0;
    }

    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    };
    if (config_.temperature <= 0.0f)
        return std::min_element(cands_.begin(), cands_.end(), by_logit)->id;

    // Keep the candidates sorted by logit, best first; only the top-k need sorting.
    if (config_.top_k > 0 && size_t(config_.top_k) < n) {
        std::partial_sort(cands_.begin(), cands_.begin() + config_.top_k, cands_.end(), by_logit);
        n = size_t(config_.top_k);
    } else {
        std::sort(cands_.begin(), cands_.end(), by_logit);
    }

    auto normalise = [&](float temperature) {
        const float max_l = cands_[0].logit;
        double sum = 0;
        for (size_t i = 0; i < n; ++i) {
            cands_[i].p = std::exp((cands_[i].logit - max_l) / temperature);
            sum += cands_[i].p;
        }
        for (size_t i = 0; i < n; ++i) cands_[i].p = float(cands_[i].p / sum);
    };

    normalise(1.0f);
    if (config_.top_p < 1.0f) {
        double cum = 0;
        size_t keep = 0;
        while (keep < n) {
            cum += cands_[keep++].p;
            if (cum >= config_.top_p) break;
        }
        n = std::max<size_t>(1, keep);
    }
    if (config_.min_p > 0.0f) {
        const float threshold = cands_[0].p * config_.min_p;
        size_t keep = 1;
        while (keep < n && cands_[keep].p >= threshold) ++keep;
        n = keep;
    }

    normalise(config_.temperature);
    double r = rng_.uniform();
    for (size_t i = 0; i < n; ++i) {
        r -= cands_[i].p;
        if (r < 0) return cands_[i].id;
    }
    return cands_[n - 1].id;
}

}  // namespace moecpu
