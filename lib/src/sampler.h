// Token sampling: repetition penalty, then top-k, top-p and min-p filters on the probabilities
// of the raw logits, then temperature and a seeded draw (llama.cpp's default chain order).
// Temperature <= 0 is greedy. All buffers are sized once for the vocabulary.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace moecpu {

struct SamplerConfig {
    float temperature = 0.8f;
    int32_t top_k = 40;        // <= 0: off
    float top_p = 0.95f;       // >= 1: off
    float min_p = 0.05f;       // <= 0: off
    float repeat_penalty = 1.0f;
    int32_t repeat_last_n = 64;
    uint64_t seed = 0xC0FFEE;
};

// xoshiro256**, seeded through splitmix64: the same seed gives the same stream on every platform.
class Rng {
public:
    explicit Rng(uint64_t seed) { reseed(seed); }
    void reseed(uint64_t seed);
    uint64_t next();
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)

private:
    uint64_t s_[4];
};

class Sampler {
public:
    Sampler(int32_t n_vocab, const SamplerConfig& config);
    void set_config(const SamplerConfig& config);  // reseeds
    const SamplerConfig& config() const { return config_; }

    // history: tokens seen so far (prompt and generated), for the repetition penalty.
    int32_t sample(const float* logits, std::span<const int32_t> history);

private:
    struct Candidate { int32_t id; float logit; float p; };
    SamplerConfig config_;
    Rng rng_;
    std::vector<Candidate> cands_;   // [n_vocab]
    std::vector<uint8_t> penalized_; // [n_vocab] marks tokens already penalised this step
};

}  // namespace moecpu
