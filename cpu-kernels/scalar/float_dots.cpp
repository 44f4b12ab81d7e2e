// Row dots of the float weight formats against f32 activations, summed in double.
#include "cpu-kernels/scalar/scalar_kernels.h"
#include "quant/fp16.h"

namespace moecpu::kernels::scalar {

float dot_f32(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(w);
    const auto* y = static_cast<const float*>(a);
    double acc = 0.0;
    for (int64_t i = 0; i < k; ++i) acc += double(x[i]) * y[i];
    return float(acc);
}

float dot_f16(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    double acc = 0.0;
    for (int64_t i = 0; i < k; ++i) acc += double(fp16_to_fp32(x[i])) * y[i];
    return float(acc);
}

float dot_bf16(int64_t k, const void* w, const void* a) {
    const auto* x = static_cast<const uint16_t*>(w);
    const auto* y = static_cast<const float*>(a);
    double acc = 0.0;
    for (int64_t i = 0; i < k; ++i) acc += double(bf16_to_fp32(x[i])) * y[i];
    return float(acc);
}

}  // namespace moecpu::kernels::scalar
