// The activation format a weight type's mat_tile takes. It is the type's ggml vec_dot_type
// (quant/type_traits.h) except for float weights: F16 and BF16 rows are multiplied with f32
// activations (ggml rounds them to F16 / BF16 first; moecpu keeps the accuracy).
#pragma once
#include <cstddef>
#include <cstdint>

#include "quant/type_traits.h"

namespace moecpu::kernels {

inline GgmlType act_type_for(GgmlType weight) {
    const GgmlType v = traits_of(weight).vec_dot_type;
    return (v == GgmlType::F16 || v == GgmlType::BF16) ? GgmlType::F32 : v;
}

// Bytes of one activation row of k elements for `weight` (k a multiple of its block size).
inline size_t act_row_bytes(GgmlType weight, int64_t k) { return row_size(act_type_for(weight), k); }

}  // namespace moecpu::kernels
