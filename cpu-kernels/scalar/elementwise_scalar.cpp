// The element-wise ops of the forward pass as plain loops: the reference the SIMD twins match.
#include <cmath>
#include <cstring>

#include "cpu-kernels/scalar/scalar_kernels.h"

namespace moecpu::kernels::scalar {

void copy_f32_act(const float* x, void* y, int64_t n) { std::memcpy(y, x, size_t(n) * sizeof(float)); }

// y = x / sqrt(mean(x^2) + eps) * w; w may be null (no weight).
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i]) * x[i];
    const float inv_rms = float(1.0 / std::sqrt(sum_sq / double(n) + double(eps)));
    for (int64_t i = 0; i < n; ++i) y[i] = w ? x[i] * inv_rms * w[i] : x[i] * inv_rms;
}

// y = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// Subtracting the max keeps every exp <= 1 (no overflow); -inf entries become 0.
void softmax(float* x, int64_t n) {
    float max_v = -INFINITY;
    for (int64_t i = 0; i < n; ++i) max_v = std::fmax(max_v, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max_v);
        sum += x[i];
    }
    const float inv_sum = float(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv_sum;
}

void add(const float* a, const float* b, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale(float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void axpy(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void rope_interleaved(float* x, const float* cos, const float* sin, int64_t n_dims) {
    for (int64_t i = 0; i < n_dims / 2; ++i) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * cos[i] - x1 * sin[i];
        x[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
    }
}

float max_of(const float* x, int64_t n) {
    float max_v = -INFINITY;
    for (int64_t i = 0; i < n; ++i) max_v = std::fmax(max_v, x[i]);
    return max_v;
}

// The sum is taken in float: the SIMD twins add lane-wise, the order differs anyway.
float exp_scaled_sum(float* x, float scale, float shift, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(scale * x[i] - shift);
        sum += x[i];
    }
    return sum;
}

}  // namespace moecpu::kernels::scalar
