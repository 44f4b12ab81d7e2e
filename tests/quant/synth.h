// Deterministic synthetic weights for the quantization tests: arithmetic only (no libm, no
// std::*_distribution), so the same bytes come out on every platform and compiler (the test is
// built with -ffp-contract=off, like quant/, so no multiply-add gets fused).
#pragma once
#include <cstdint>
#include <vector>

namespace moecpu::testing {

struct SplitMix64 {
    uint64_t s;
    explicit SplitMix64(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 24 bits.
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
    // Approximately N(0, 1): Irwin-Hall sum of 12 uniforms minus 6.
    float gauss() {
        float s12 = 0.f;
        for (int i = 0; i < 12; ++i) s12 += uniform();
        return s12 - 6.f;
    }
};

// nrows x ncols "weights": N(0, sigma) with sigma varying per row, a small per-column offset
// (so asymmetric formats have something to fit), and about 1 in 500 values a 8x outlier.
inline std::vector<float> synth_weights(int64_t nrows, int64_t ncols, uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<float> col_offset(static_cast<size_t>(ncols));
    for (auto& c : col_offset) c = 0.002f * rng.gauss();
    std::vector<float> x(static_cast<size_t>(nrows * ncols));
    for (int64_t r = 0; r < nrows; ++r) {
        const float sigma = 0.01f + 0.04f * rng.uniform();
        for (int64_t c = 0; c < ncols; ++c) {
            float v = sigma * rng.gauss() + col_offset[size_t(c)];
            if (rng.next() % 500 == 0) v *= 8.f;
            x[size_t(r * ncols + c)] = v;
        }
    }
    return x;
}

// Per-column importance as an imatrix would give: positive, spread over ~3 decades.
inline std::vector<float> synth_importance(int64_t ncols, uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<float> w(static_cast<size_t>(ncols));
    for (auto& v : w) {
        const float u = rng.uniform();
        v = 0.01f + 10.f * u * u * u * u;
    }
    return w;
}

// FNV-1a of a byte buffer (pins quantizer output in known-answer tests).
inline uint64_t fnv1a(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= b[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

}  // namespace moecpu::testing
